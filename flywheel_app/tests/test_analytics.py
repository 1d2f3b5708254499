"""The analytics page (SPEC §8 Analytics, issue 14): each section's numbers from rows made for the
purpose, in two accounts at once (the other account's rows never count), who may see it, the CSV
of each chart, and what the page costs."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from facts_app.tests.factories import FactFactory
from flywheel_app.analytics import ai_cost, coverage, escalations, overview, psa
from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.analytics.sql import percentile_of
from flywheel_app.tests.analytics_data import seed_history
from flywheel_app.tests.factories import FlowFactory
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession, Escalation, SessionStep, SuggestedFix, TicketPush
from sessions_app.tests.factories import AISessionFactory, SessionStepFactory

pytestmark = pytest.mark.django_db

URL = "/manage/analytics/"


def _rows(section, key):
    return {row[0]: row[1:] for row in section.chart(key).rows}


def _fix(session, outcome, minutes, active=False):
    now = session.created_at
    return SuggestedFix.objects.create(
        account=session.account,
        session=session,
        title="Fix",
        outcome=outcome,
        failure_reason="No" if outcome == "applied_failed" else "",
        created_at=now + timedelta(minutes=minutes),
        superseded_at=None if active else now + timedelta(minutes=minutes, seconds=30),
    )


def _fixes_in(tenant):
    twice_failed = AISessionFactory(owner=tenant.engineer)
    _fix(twice_failed, "applied_failed", 1)
    _fix(twice_failed, "applied_failed", 2)
    _fix(twice_failed, "applied_success", 3, active=True)
    _fix(AISessionFactory(owner=tenant.engineer), "applied_success", 1, active=True)
    _fix(AISessionFactory(owner=tenant.engineer), "applied_failed", 1, active=True)
    AISessionFactory(owner=tenant.engineer)  # no fix at all


def test_a_session_that_failed_a_fix_and_later_succeeded_counts_once(tenant_a, tenant_b):
    _fixes_in(tenant_a)
    _fixes_in(tenant_b)
    _fix(AISessionFactory(owner=tenant_b.engineer), "applied_failed", 1, active=True)

    section = overview.section(account_id=tenant_a.account.pk, days=30)

    assert _rows(section, "eventual_success") == {
        "Worked first time": [1],
        "Worked after a failed fix": [1],
        "Failed, not fixed yet": [1],
    }
    assert section.data["total"] == 4
    assert section.data["eventual_success"] == 2


def test_overview_counts_outcomes_ratings_domains_tiers_and_the_resolution_trend(tenant_a, tenant_b):
    now = timezone.now()
    for account_tenant in (tenant_a, tenant_b):
        AISessionFactory(owner=account_tenant.engineer, status="resolved", rating=5, problem_domain="email",
                         confidence_tier="guided", created_at=now - timedelta(minutes=40),
                         resolved_at=now - timedelta(minutes=10))  # fmt: skip
    escalated = AISessionFactory(
        owner=tenant_a.engineer,
        status="resolved",
        rating=3,
        problem_domain="printing",
        created_at=now - timedelta(minutes=70),
        resolved_at=now - timedelta(minutes=20),
    )
    Escalation.objects.create(account=tenant_a.account, session=escalated, escalated_by=tenant_a.engineer, reason="x",
                              claimed_by=tenant_a.admin, claimed_at=now - timedelta(minutes=50))  # fmt: skip
    AISessionFactory(owner=tenant_a.engineer, status="abandoned", problem_domain="printing")

    section = overview.section(account_id=tenant_a.account.pk, days=7)

    outcomes = _rows(section, "outcomes")
    assert outcomes["Resolved, no escalation"] == [1]
    assert outcomes["Resolved after escalation"] == [1]
    assert outcomes["Abandoned"] == [1]
    assert _rows(section, "ratings")["5 ★"] == [1] and _rows(section, "ratings")["3 ★"] == [1]
    assert _rows(section, "domains") == {"Printing": [2], "E-mail": [1]}
    assert _rows(section, "tiers")["Guided"] == [1]
    trend = section.chart("time_to_resolution").rows
    assert len(trend) == 1 and trend[0][1:] == [40.0, 40.0, 2]  # median and average of 30 and 50 minutes


def test_coverage_per_domain(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account, domain="email")
    FlowFactory(account=tenant_b.account, domain="printing")
    AISessionFactory(owner=tenant_a.engineer, problem_domain="email", matched_flow=flow, confidence_tier="guided",
                     status="resolved")  # fmt: skip
    AISessionFactory(owner=tenant_a.engineer, problem_domain="email")
    AISessionFactory(owner=tenant_a.engineer, problem_domain="printing")
    AISessionFactory(owner=tenant_b.engineer, problem_domain="printing")

    section = coverage.section(account_id=tenant_a.account.pk, days=30)

    table = _rows(section, "by_domain")
    # flows, sessions, resolved %, escalated %, guided %, avg minutes, no flow covers
    assert table["E-mail"][:5] == [1, 2, 50.0, 0.0, 50.0] and table["E-mail"][6] == 1
    assert table["Printing"][:2] == [0, 1] and table["Printing"][6] == 1
    assert section.data["uncovered"] == 2
    assert section.data["thin_domains"] == ["Printing"]


def _escalation(tenant, *, claimed_after=None, acts_after=None, by_escalator_after=None):
    """An escalation raised 10 minutes ago; claimed `claimed_after` s later; the claimer answers a
    step `acts_after` s after the claim (negative: before it)."""
    session = AISessionFactory(owner=tenant.engineer)
    raised = timezone.now() - timedelta(minutes=10)
    claimed_at = raised + timedelta(seconds=claimed_after) if claimed_after is not None else None
    Escalation.objects.create(account=tenant.account, session=session, escalated_by=tenant.engineer, reason="Stuck",
                              created_at=raised, claimed_by=tenant.admin if claimed_at else None,
                              claimed_at=claimed_at)  # fmt: skip
    if acts_after is not None:
        step = SessionStepFactory(session=session, order=1)
        SessionStep.objects.filter(pk=step.pk).update(
            response_kind="free_text",
            responded_by=tenant.admin,
            responded_at=claimed_at + timedelta(seconds=acts_after),
        )
    if by_escalator_after is not None:
        FactFactory(
            session=session, author=tenant.engineer, created_at=claimed_at + timedelta(seconds=by_escalator_after)
        )
    return session


def test_claim_to_first_action_with_unclaimed_no_action_and_negative_cases(tenant_a, tenant_b):
    _escalation(tenant_a, claimed_after=30, acts_after=120)
    acted_twice = _escalation(tenant_a, claimed_after=30, acts_after=300)
    raised = Escalation.objects.get(session=acted_twice).created_at
    FactFactory(session=acted_twice, author=tenant_a.admin, created_at=raised + timedelta(seconds=30 + 200))
    _escalation(tenant_a, claimed_after=60, acts_after=-20)  # stamped before the claim: counts as 0
    _escalation(tenant_a, claimed_after=60)  # claimed, nothing done yet
    _escalation(tenant_a, claimed_after=60, by_escalator_after=30)  # only the escalator acted: no action
    _escalation(tenant_a)  # nobody claimed it
    _escalation(tenant_b, claimed_after=30, acts_after=5000)

    section = escalations.section(account_id=tenant_a.account.pk, days=7)

    waits = [120.0, 200.0, 0.0]
    assert section.data["raised"] == 6
    assert section.data["unclaimed"] == 1
    assert section.data["no_action"] == 2
    assert section.data["acted"] == 3
    stats = _rows(section, "claim_to_action")
    assert stats["Average"] == [round(sum(waits) / 3)]
    assert stats["Median"] == [120]
    assert stats["p95"] == [round(percentile_of(waits, 0.95))] == [192]
    assert _rows(section, "handoffs") == {"Raised": [6], "Claimed": [5], "Acted on after the claim": [3]}
    assert _rows(section, "claim_to_action_spread")["Under 1 min"] == [1]
    assert "first thing the engineer who claimed it recorded" in section.data["definition"]


def _usage(tenant, session, *, action="session_turn", i=0, o=0, cr=0, cw=0, cost="0"):
    return AIUsage.objects.create(account=tenant.account, action=action, tier="strong", model="m", outcome="ok",
                                  input_tokens=i, output_tokens=o, cache_read_tokens=cr, cache_write_tokens=cw,
                                  cost_usd=Decimal(cost), subject_type="session" if session else "",
                                  subject_id=session.pk if session else None)  # fmt: skip


def test_ai_cost_sums_usage_rows_with_cache_reads_and_writes(tenant_a, tenant_b):
    first, second = AISessionFactory(owner=tenant_a.engineer), AISessionFactory(owner=tenant_a.engineer)
    _usage(tenant_a, first, i=100, o=50, cw=1000, cost="0.010")
    _usage(tenant_a, first, i=120, o=60, cr=1000, cost="0.004")
    _usage(tenant_a, second, action="resolution_note", i=80, o=300, cr=1000, cost="0.006")
    _usage(tenant_a, None, action="classify", i=30, o=10, cost="0.001")  # not for a session
    other = AISessionFactory(owner=tenant_b.engineer)
    _usage(tenant_b, other, i=9999, o=9999, cr=9999, cw=9999, cost="9.000")

    section = ai_cost.section(account_id=tenant_a.account.pk, days=30)

    d = section.data
    assert d["tokens"] == {"Input": 330, "Output": 420, "Cache read": 2000, "Cache write": 1000}
    assert d["total_cost"] == 0.021
    assert d["calls"] == 4
    assert d["sessions"] == 2 and d["per_session"] == 0.01  # (0.010 + 0.004 + 0.006) / 2
    assert d["cache_share"] == round(100 * 2000 / (330 + 2000 + 1000), 1)
    per_action = {row[0]: row[1:] for row in section.chart("cost_per_action").rows}
    assert per_action == {"session_turn": [0.014, 2], "resolution_note": [0.006, 1], "classify": [0.001, 1]}
    assert _rows(section, "tokens_per_action")["session_turn"] == [220, 110, 1000, 1000]
    assert [e["id"] for e in d["expensive"]] == [first.pk, second.pk]
    assert d["expensive"][0]["tokens"] == 100 + 50 + 1000 + 120 + 60 + 1000
    assert ai_cost.cache_share(input_tokens=0, cache_read_tokens=0, cache_write_tokens=0) is None


def _push(tenant, status, *, attempts=1, error=""):
    session = AISessionFactory(owner=tenant.engineer)
    return TicketPush.objects.create(
        account=tenant.account,
        session=session,
        kind="escalation_package",
        status=status,
        attempts=attempts,
        error=error,
        created_by=tenant.engineer,
    )


def test_the_psa_funnel_failures_and_retries(tenant_a, tenant_b):
    for _ in range(3):
        _push(tenant_a, "posted")
    _push(tenant_a, "posted", attempts=3)
    _push(tenant_a, "failed", attempts=3, error="401 Unauthorized")
    _push(tenant_a, "failed", attempts=2, error="401 Unauthorized")
    _push(tenant_a, "failed", error="=HYPERLINK(evil)")
    _push(tenant_a, "local")
    _push(tenant_a, "pending")
    _push(tenant_b, "failed", error="Only in the other account")

    section = psa.section(account_id=tenant_a.account.pk, days=30)

    assert _rows(section, "funnel") == {"Pushes made": [9], "To a ticket": [8], "Posted": [4]}
    assert _rows(section, "status") == {"Posted": [4], "Failed": [3], "Posting": [1], "Kept here (no ticket)": [1]}
    assert _rows(section, "failures") == {"401 Unauthorized": [2], "=HYPERLINK(evil)": [1]}
    assert _rows(section, "attempts") == {"1": [6], "2": [1], "3": [2], "4+": [0]}
    assert section.data["retried"] == 3
    assert section.data["success_rate"] == 50.0


@pytest.mark.parametrize("role", ["engineer", "coverage_engineer", "l1"])
def test_engineers_and_l1_techs_get_no_access(role, tenant_a, client):
    client.force_login(getattr(tenant_a, role))
    assert client.get(URL).status_code == 403
    assert client.get(URL + "psa/funnel.csv").status_code == 403


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_every_section_in_order(role, tenant_a, tenant_b, client):
    seed_history(account=tenant_a.account, owner=tenant_a.engineer, claimer=tenant_a.admin, sessions=30)
    seed_history(account=tenant_b.account, owner=tenant_b.engineer, claimer=tenant_b.admin, sessions=30)
    client.force_login(getattr(tenant_a, role))

    body = client.get(URL + "?days=90").content.decode()

    keys = ["overview", "coverage", "flow_quality", "escalations", "psa", "ai_cost", "ai_quality", "gaps"]
    positions = [body.index(f'id="flywheel_app-analytics-{k}"') for k in keys]
    assert positions == sorted(positions)
    assert 'aria-current="page">Last 90 days' in body
    assert body.count("Data (CSV)") >= 15 and body.count("Show as a table") >= 12
    assert 'role="img"' in body and "How this is measured." in body
    assert "problem number" in body and "Globex" not in body


def test_the_csv_is_the_charts_rows_of_the_account(tenant_a, tenant_b, client):
    _push(tenant_a, "failed", error="=cmd|' /C calc'!A0")
    _push(tenant_a, "posted")
    _push(tenant_b, "failed", error="Other account")
    client.force_login(tenant_a.admin)

    response = client.get(URL + "psa/failures.csv?days=7")

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="psa-failures-7d.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    chart = psa.section(account_id=tenant_a.account.pk, days=7).chart("failures")
    assert rows[0] == chart.columns
    assert rows[1:] == [["'=cmd|' /C calc'!A0", "1"]]  # a formula is defused for spreadsheets
    funnel = list(csv.reader(io.StringIO(client.get(URL + "psa/funnel.csv").content.decode())))
    assert funnel[1:] == [
        [str(v) for v in row] for row in psa.section(account_id=tenant_a.account.pk, days=30).chart("funnel").rows
    ]
    assert client.get(URL + "nope/funnel.csv").status_code == 404
    assert client.get(URL + "psa/nope.csv").status_code == 404


def test_the_page_costs_the_same_with_10000_sessions_as_with_100_and_is_cached(
    tenant_a, tenant_b, client, django_assert_max_num_queries
):
    seed_history(account=tenant_b.account, owner=tenant_b.engineer, claimer=tenant_b.admin, sessions=50)
    seed_history(account=tenant_a.account, owner=tenant_a.engineer, claimer=tenant_a.admin, sessions=100)
    client.force_login(tenant_a.owner)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    with django_assert_max_num_queries(4):  # the login session and the user: every section from the cache
        assert client.get(URL).status_code == 200

    seed_history(account=tenant_a.account, owner=tenant_a.engineer, claimer=tenant_a.admin, sessions=9_900)
    assert AISession.objects.filter(account=tenant_a.account).count() == 10_000
    analytics_invalidate(account_id=tenant_a.account.pk)
    with django_assert_max_num_queries(len(small)):
        assert client.get(URL).status_code == 200
    # Overview, coverage, escalations, PSA and AI cost (10), AI quality (1 with no
    # votes, 3 with: test_ai_quality.py pins it), flow
    # quality (up to 5), knowledge gaps (up to 13) and the request's own (login session, user): at most 33
    # (22 here, with no flow); a new query per row would show at 10,000.
    assert len(small) <= 33, [q["sql"][:80] for q in small.captured_queries]
