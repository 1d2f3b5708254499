"""What keeps the analytics page's cost flat with data volume (issue 14 §4), and the numbers it must
keep: the keywords stored on a session (written by the intake, backfilled by a migration, read by
the repeated-pattern gap, tokenised on read for a row without them), overview and coverage served
by one scan of the sessions, a fix's stamps read in one join by the escalations section, and
PostgreSQL's JIT off. Two accounts with data in every test that counts."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flywheel_app.analytics import coverage, escalations, overview
from flywheel_app.analytics import gaps as G
from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.keywords import from_stored, keywords, stored
from flywheel_app.tests.analytics_data import seed_history
from resolutionflow.ai.fake_api import Reply
from sessions_app.models import AISession, Escalation, SuggestedFix
from sessions_app.services.intake import session_create, session_start
from sessions_app.tests.factories import AISessionFactory, classification

pytestmark = pytest.mark.django_db


# --- keywords stored on the session --------------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "symptoms"),
    [
        ("Outlook PROMPTS for passwords", ["prompting"]),
        ("Printer offline again", []),
        ("", []),
        ("VPN disconnects; the user's laptop stopped jamming", ["Spooler stopped", "e-mail bounced"]),
    ],
)
def test_the_stored_form_reads_back_as_the_keywords_themselves(summary, symptoms):
    text = stored(summary=summary, key_symptoms=symptoms)
    assert from_stored(text) == keywords(*symptoms, summary)
    assert list(from_stored(text).items()) == list(keywords(*symptoms, summary).items())  # the same order


def test_the_intake_stores_the_keywords_with_the_summary_and_symptoms(tenant_a, fake_anthropic):
    created = session_create(user=tenant_a.engineer, intake_type="text", intake_text="Printer offline since Monday")
    assert created.summary_keywords == stored(summary=created.problem_summary, key_symptoms=[])

    fake_anthropic.enqueue(
        Reply.json(classification(summary="VPN drops after sleep", symptoms=["Tunnel disconnects", "Laptop sleeps"]))
    )
    session = session_start(user=tenant_a.engineer, intake_type="text", intake_text="VPN drops")
    session.refresh_from_db()
    assert session.summary_keywords == stored(
        summary="VPN drops after sleep", key_symptoms=["Tunnel disconnects", "Laptop sleeps"]
    )
    assert list(from_stored(session.summary_keywords))[:3] == ["tunnel", "disconnect", "laptop"]


def _session(tenant, summary: str, words: str | None) -> AISession:
    session = AISessionFactory(owner=tenant.engineer, problem_summary=summary, key_symptoms=[])
    AISession.objects.filter(pk=session.pk).update(summary_keywords=words)
    return session


def test_the_repeated_pattern_groups_on_the_stored_keywords_and_tokenises_a_row_without_them(tenant_a, tenant_b):
    # The stored keywords are what count: these summaries share no two words.
    made = [
        _session(tenant_a, "Case alpha", "printer offline"),
        _session(tenant_a, "Case bravo", "offline printer queue"),
        _session(tenant_a, "Printer is offline", None),  # not stored: tokenised from its summary
    ]
    _session(tenant_a, "Printer offline again", "")  # stored as none: the summary is not read
    [_session(tenant_b, "Case", "printer offline") for _ in range(2)]  # the other account's two

    [gap] = [g for g in G.knowledge_gaps(account_id=tenant_a.account.pk, days=30) if g.type == G.REPEATED]
    assert gap.key == "repeated_pattern:offline+printer"
    assert gap.evidence.session_ids == [s.pk for s in reversed(made)]
    assert gap.newest_at == AISession.objects.get(pk=made[-1].pk).created_at
    assert dict(gap.evidence.counts)["Sessions"] == 3
    assert [g for g in G.knowledge_gaps(account_id=tenant_b.account.pk, days=30) if g.type == G.REPEATED] == []


def test_the_migration_backfills_every_session_s_keywords(tenant_a, tenant_b):
    a = AISessionFactory(owner=tenant_a.engineer, problem_summary="Printers jammed", key_symptoms=["Paper stuck"])
    b = AISessionFactory(owner=tenant_b.engineer, problem_summary="VPN drops", key_symptoms=[])
    kept = AISessionFactory(owner=tenant_b.engineer, problem_summary="Outlook prompts")
    AISession.objects.filter(pk=kept.pk).update(summary_keywords="already")
    migration = importlib.import_module("sessions_app.migrations.0013_session_summary_keywords")

    migration.backfill(apps, None)

    found = dict(AISession.objects.values_list("pk", "summary_keywords"))
    assert (
        found[a.pk]
        == stored(summary="Printers jammed", key_symptoms=["Paper stuck"])
        == "paper stuck printer=printers jam=jammed"
    )
    assert found[b.pk] == "vpn drop=drops"
    assert found[kept.pk] == "already"  # a session that has them keeps them


# --- one scan of the sessions for the overview and the coverage ----------------------------


def test_overview_and_coverage_share_one_query_and_keep_their_numbers(tenant_a, tenant_b):
    seed_history(account=tenant_a.account, owner=tenant_a.engineer, claimer=tenant_a.admin, sessions=60)
    seed_history(account=tenant_b.account, owner=tenant_b.engineer, claimer=tenant_b.admin, sessions=30)
    analytics_invalidate(account_id=tenant_a.account.pk)

    with CaptureQueriesContext(connection) as first:
        o = overview.section(account_id=tenant_a.account.pk, days=30)
    with CaptureQueriesContext(connection) as then:
        c = coverage.section(account_id=tenant_a.account.pk, days=30)
    assert len(first) == 2  # the sessions per domain, the trend
    assert len(then) == 1  # the published flows: the sessions per domain came from the cache

    sessions = AISession.objects.filter(account=tenant_a.account)  # all within the 30 days
    assert o.data["total"] == sessions.count() == 60
    assert o.data["resolved"] == sessions.filter(status="resolved").count()
    domains = {row[0]: row[1] for row in o.chart("domains").rows}
    table = {row[0]: row for row in c.chart("by_domain").rows}
    assert {label: row[2] for label, row in table.items()} == domains
    resolved = sessions.filter(status="resolved", problem_domain="email")
    minutes = [(s.resolved_at - s.created_at).total_seconds() / 60 for s in resolved]
    assert table["E-mail"][6] == round(sum(minutes) / len(minutes), 1)


# --- a fix's stamps in one join --------------------------------------------------------------


def _escalated_with_fix(tenant, *, decided=None, applied=None, verified=None):
    """An escalation raised 10 minutes ago and claimed 30 s later, and a fix of its session with
    the given stamps (seconds after the claim; negative: before the escalation was raised)."""
    session = AISessionFactory(owner=tenant.engineer)
    raised = timezone.now() - timedelta(minutes=10)
    claimed = raised + timedelta(seconds=30)
    Escalation.objects.create(account=tenant.account, session=session, escalated_by=tenant.engineer, reason="Stuck",
                              created_at=raised, claimed_by=tenant.admin, claimed_at=claimed)  # fmt: skip
    fix = SuggestedFix.objects.create(account=tenant.account, session=session, title="Fix", outcome="applied_success")
    stamps = {"decided_at": decided, "applied_at": applied, "verified_at": verified}
    SuggestedFix.objects.filter(pk=fix.pk).update(
        **{k: claimed + timedelta(seconds=v) for k, v in stamps.items() if v is not None}
    )


def test_the_first_of_a_fix_s_stamps_made_after_the_escalation_is_its_first_action(tenant_a, tenant_b):
    _escalated_with_fix(tenant_a, decided=-100, applied=90, verified=400)  # decided before it was raised
    _escalated_with_fix(tenant_a, decided=-100, verified=200)  # only the verification is after it
    _escalated_with_fix(tenant_a, decided=-100)  # nothing after it: claimed, no action
    _escalated_with_fix(tenant_b, applied=5000)

    section = escalations.section(account_id=tenant_a.account.pk, days=7)

    assert section.data["raised"] == 3 and section.data["acted"] == 2 and section.data["no_action"] == 1
    stats = {row[0]: row[1] for row in section.chart("claim_to_action").rows}
    assert stats["Average"] == 145 and stats["Median"] == 145


# --- the database ----------------------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's JIT")
def test_postgresql_compiles_no_query_just_in_time():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
