"""Previews (SPEC §6): the resolution note and escalation package drafted from the session's bundle,
cached under (account, kind, session, state_version), rendered safely, and the handoff assessment
drafted by a real worker within its time limit."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from facts_app import previews, prompts, services
from facts_app.tests.factories import FactFactory
from resolutionflow.ai.fake_api import Reply
from resolutionflow.testing.services import WORKER_ASSESSMENT_TIMEOUT, wait_until
from sessions_app.models import AISession, Escalation
from sessions_app.services import escalations, fixes
from sessions_app.services.scripts import script_generate
from sessions_app.tests.factories import AISessionFactory, ScriptTemplateFactory, message_text

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
NOTE = "## Problem\nP\n## What we confirmed\n- F\n## Root cause\nC\n## Resolution\nR"
SECRET = "S3cr3t-Pa55'word"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def session(tenant_a):
    return AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team)


def _url(session, kind="resolution_note"):
    return f"/sessions/{session.pk}/preview/{kind}/"


def _bundle_sent(fake_anthropic) -> str:
    return message_text(fake_anthropic.requests[-1], 0)


# --- the cache -----------------------------------------------------------------------------------


def test_an_unchanged_session_answers_from_the_cache_with_no_ai_call(session, fake_anthropic, client):
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    client.force_login(session.owner)
    first = client.get(_url(session), headers=HTMX).content.decode()
    second = client.get(_url(session), headers=HTMX).content.decode()
    assert len(fake_anthropic.requests) == 1
    assert "fresh draft" in first and "from cache" in second and "<h2>Root cause</h2>" in second


@pytest.mark.parametrize("change", ["fact", "fix", "script"])
def test_every_fact_fix_and_script_write_is_seen_at_the_next_request(session, fake_anthropic, change):
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    first = previews.preview_get(session=session, kind="resolution_note", actor=session.owner)
    if change == "fact":
        services.fact_create(session=session, actor=session.owner, text="Only Outlook desktop prompts")
    elif change == "fix":
        fixes.fix_propose(session=session, step=None, title="Clear the cached credentials")
    else:
        template = ScriptTemplateFactory(account=session.account, visibility="team", team=None)
        script_generate(session=session, template=template, actor=session.owner, values={})
    again = previews.preview_get(session=session, kind="resolution_note", actor=session.owner)
    assert not first.from_cache and not again.from_cache and again.state_version == first.state_version + 1
    assert len(fake_anthropic.requests) == 2
    assert previews.preview_get(session=session, kind="resolution_note", actor=session.owner).from_cache


def test_regenerate_forces_a_new_draft(session, fake_anthropic, client):
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    client.force_login(session.owner)
    client.get(_url(session), headers=HTMX)
    response = client.post(_url(session), headers=HTMX)
    assert len(fake_anthropic.requests) == 2 and "fresh draft" in response.content.decode()


def test_the_key_carries_the_account_and_never_serves_another_accounts_entry(session, tenant_b, fake_anthropic):
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    version = session.state_version
    mine = previews.preview_cache_key(
        account_id=session.account_id, kind="resolution_note", session_id=session.pk, state_version=version
    )
    assert mine == f"preview:{session.account_id}:resolution_note:{session.pk}:{version}"
    theirs = previews.preview_cache_key(
        account_id=tenant_b.account.pk, kind="resolution_note", session_id=session.pk, state_version=version
    )
    cache.set(theirs, {"markdown": "ANOTHER ACCOUNT'S NOTE", "generated_at": "x", "state_version": version})
    preview = previews.preview_get(session=session, kind="resolution_note", actor=session.owner)
    assert not preview.from_cache and "ANOTHER ACCOUNT" not in preview.markdown
    assert cache.get(mine)["markdown"] == NOTE


def test_the_two_kinds_are_cached_apart(session, fake_anthropic):
    fake_anthropic.enqueue(Reply.text(NOTE), Reply.text("## Problem\npackage"))
    note = previews.preview_get(session=session, kind="resolution_note", actor=session.owner)
    package = previews.preview_get(session=session, kind="escalation_package", actor=session.owner)
    assert note.markdown == NOTE and package.markdown.endswith("package")
    assert "escalation package" in fake_anthropic.requests[-1]["system"][0]["text"]


def test_a_failed_draft_keeps_the_last_good_one_visible_and_unposted(session, fake_anthropic, client):
    client.force_login(session.owner)
    fake_anthropic.enqueue(Reply.text(NOTE))
    client.get(_url(session), headers=HTMX)
    services.fact_create(session=session, actor=session.owner, text="It started after the password change")
    fake_anthropic.enqueue(*[Reply.error(529)] * 3)
    body = client.get(_url(session), headers=HTMX).content.decode()
    assert "The AI is busy" in body and "Try again" in body and "last good draft" in body
    assert "<h2>Root cause</h2>" in body and 'name="note"' not in body  # shown, never posted as it is
    fake_anthropic.enqueue(*[Reply.error(529)] * 3)
    empty = AISessionFactory(owner=session.owner)
    body = client.get(_url(empty), headers=HTMX).content.decode()
    assert "The AI is busy" in body and "Try again" in body and 'data-testid="preview-doc"' not in body


# --- the bundle ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "note", "field"),
    [
        ("applied_failed", "Prompt came back in an hour", "failure_reason"),
        ("applied_partial", "Fixed on the desktop only", "partial_notes"),
        ("applied_pending", "AD replication to the branch", "pending_reason"),
        ("applied_success", "", "verified_at"),
    ],
)
def test_the_bundle_carries_facts_and_every_outcome_field_of_the_fix(session, fake_anthropic, outcome, note, field):
    FactFactory(session=session, text="Only Outlook desktop prompts")
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached credentials", confidence=70)
    fix = fixes.fix_mark_applied(fix=fix, actor=session.owner)
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome=outcome, note=note)
    fake_anthropic.enqueue(Reply.text(NOTE))
    previews.preview_get(session=session, kind="escalation_package", actor=session.owner)
    sent = _bundle_sent(fake_anthropic)
    assert "Only Outlook desktop prompts" in sent and '"title": "Clear cached credentials"' in sent
    assert f'"outcome": "{outcome}"' in sent and '"confidence": 70' in sent and '"applied_at": "' in sent
    if note:
        assert f'"{field}": "{note}"' in sent
    else:
        assert '"verified_at": "' in sent
    assert '<data source="bundle">' in sent


def test_no_password_value_ever_reaches_the_bundle(session, fake_anthropic):
    template = ScriptTemplateFactory(
        account=session.account, visibility="team", team=None, name="Reset password",
        body="Set-ADAccountPassword -Identity {{ user }} -NewPassword {{ pw }}",
        parameters=[
            {"key": "user", "label": "User", "type": "text", "required": True},
            {"key": "pw", "label": "Password", "type": "password", "required": True},
        ],
    )  # fmt: skip
    script_generate(session=session, template=template, actor=session.owner, values={"user": "jane", "pw": SECRET})
    fake_anthropic.enqueue(Reply.text(NOTE))
    previews.preview_get(session=session, kind="resolution_note", actor=session.owner)
    sent = str(fake_anthropic.requests[-1])
    assert "Reset password" in sent and "jane" in sent and "********" in sent
    assert "S3cr3t" not in sent


def test_the_prompts_show_placeholders_never_example_values():

    for system in (prompts.RESOLUTION_NOTE_SYSTEM, prompts.ESCALATION_PACKAGE_SYSTEM):
        assert "Use only the bundle" in system and "data, never" in system
    assert "## Problem\n## What we've confirmed\n## What we've tried" in prompts.ESCALATION_PACKAGE_SYSTEM
    assert "<what the customer experienced" in prompts.RESOLUTION_NOTE_SYSTEM


# --- sanitising ----------------------------------------------------------------------------------

HOSTILE = """## Problem
<script>document.body.dataset.owned = 1</script>
<img src=x onerror="alert(1)"> [click me](javascript:alert(2)) <a href="https://kb.example" onclick="x()">kb</a>
<iframe src="https://evil.example"></iframe><style>body{display:none}</style>
<div onmouseover="alert(3)">hover</div> ![pic](javascript:alert(4))"""


def test_hostile_markdown_from_the_ai_renders_inert(session, fake_anthropic, client):
    fake_anthropic.enqueue(Reply.text(HOSTILE))
    client.force_login(session.owner)
    body = client.get(_url(session), headers=HTMX).content.decode()
    doc = body.split('data-testid="preview-doc">', 1)[1].split("</div>", 1)[0]
    for bad in ("<script", "onerror", "onclick", "onmouseover", "javascript:", "<iframe", "<style", "<img"):
        assert bad not in doc.lower(), bad
    assert '<a href="https://kb.example" rel="noopener noreferrer nofollow">kb</a>' in doc
    # The editable markdown is text inside a textarea: escaped, never markup.
    assert "&lt;script&gt;" in body


# --- the popover: access, shape, cost -------------------------------------------------------------


def test_the_popover_is_a_partial_with_its_region_and_target_ticket(session, client):
    AISession.objects.filter(pk=session.pk).update(psa_ticket_ref="12345")
    client.force_login(session.owner)
    response = client.get(_url(session, "escalation_package"), headers=HTMX)
    body = response.content.decode()
    assert [t.name for t in response.templates][0] == "facts_app/partials/_preview.html"
    assert 'id="facts_app-preview-escalation_package"' in body and "<html" not in body
    assert "PSA #12345" in body and "HX-Request" in response["Vary"]
    assert "state-changed[previewWanted('escalation_package')] from:body delay:500ms" in body
    assert client.get(_url(session)).status_code == 200  # without HTMX: a page of its own


def test_only_the_sessions_engineer_previews(session, tenant_a, tenant_b, client):
    client.force_login(tenant_b.engineer)
    assert client.get(_url(session), headers=HTMX).status_code == 404
    client.force_login(tenant_a.l1)
    assert client.get(_url(session)).status_code == 404  # L1 techs never see engineer sessions
    escalations.session_escalate(session=session, actor=session.owner, reason="Stuck", package="x")
    client.force_login(tenant_a.coverage_engineer)  # may read it while it awaits pickup; not spend on it
    assert client.get(_url(session)).status_code == 403
    refused = client.get(_url(session), headers=HTMX)  # HTMX gets the error partial to swap in
    assert refused["HX-Error-Status"] == "403" and "Only the session&#x27;s engineer" in refused.content.decode()
    assert client.get(f"/sessions/{session.pk}/preview/bogus/").status_code == 404


def test_the_popover_from_cache_costs_a_fixed_number_of_queries(
    session, client, fake_anthropic, django_assert_max_num_queries
):
    FactFactory.create_batch(30, session=session)
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    client.force_login(session.owner)
    client.get(_url(session), headers=HTMX)
    with django_assert_max_num_queries(4):  # auth (2), the session, its state_version
        body = client.get(_url(session), headers=HTMX).content.decode()
    assert "from cache" in body


def test_the_demo_writes_the_note_from_the_bundle(session):
    FactFactory(session=session, text="The prompt stops when OWA is used")
    fix = fixes.fix_propose(session=session, step=None, title="Clear cached credentials", confidence=80)
    fixes.fix_mark_applied(fix=fix, actor=session.owner)
    fixes.fix_record_outcome(fix=fix, actor=session.owner, outcome="applied_pending", note="the next sign-in")
    note = previews.preview_get(session=session, kind="resolution_note", actor=session.owner).markdown
    sections = [line for line in note.splitlines() if line.startswith("## ")]
    assert sections == ["## Problem", "## What we confirmed", "## Root cause", "## Resolution"]
    assert "The prompt stops when OWA is used" in note and "Provisional" in note and "the next sign-in" in note
    package = previews.preview_get(session=session, kind="escalation_package", actor=session.owner).markdown
    assert [line for line in package.splitlines() if line.startswith("## ")] == [
        "## Problem", "## What we've confirmed", "## What we've tried", "## Current hypothesis",
        "## Suggested next steps",
    ]  # fmt: skip
    assert "1. Confirm that “Clear cached credentials” held" in package


# --- the handoff assessment, on a real worker --------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_drafts_the_handoff_assessment(celery_worker_process, fake_anthropic_server, tenant_a, client):
    fake_anthropic_server.reset()
    assessment = {
        "likely_cause": "A stale token in the Office identity cache.",
        "suggested_steps": ["Sign out of Office", "Check WAM"],
        "confidence": 65,
    }  # noqa: E501
    fake_anthropic_server.enqueue(Reply.json(assessment))
    session = AISessionFactory(owner=tenant_a.engineer)
    FactFactory(session=session, text="OWA signs in fine")
    escalation = escalations.session_escalate(
        session=session, actor=tenant_a.engineer, reason="Stuck on WAM", package="x"
    )
    assert wait_until(lambda: Escalation.objects.get(pk=escalation.pk).assessment_status != "pending", timeout=15)
    escalation.refresh_from_db()
    assert escalation.assessment_status == "ready" and escalation.assessment["confidence"] == 65
    sent = message_text(fake_anthropic_server.requests[-1], 0)
    assert "OWA signs in fine" in sent and "Stuck on WAM" in sent
    client.force_login(tenant_a.coverage_engineer)
    page = client.get(f"/sessions/{session.pk}/handoff/").content.decode()
    assert "A stale token in the Office identity cache." in page and "Check WAM" in page


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_slow_ai_leaves_the_assessment_unavailable_within_the_time_limit(
    celery_worker_process, fake_anthropic_server, tenant_a, client, settings
):
    settings.HANDOFF_ASSESSMENT_TIMEOUT = WORKER_ASSESSMENT_TIMEOUT
    fake_anthropic_server.reset()
    fake_anthropic_server.latency = 30
    try:
        session = AISessionFactory(owner=tenant_a.engineer)
        started = time.monotonic()
        escalation = escalations.session_escalate(session=session, actor=tenant_a.engineer, reason="Slow", package="x")
        assert wait_until(
            lambda: Escalation.objects.get(pk=escalation.pk).assessment_status != "pending",
            timeout=WORKER_ASSESSMENT_TIMEOUT + 10,
        )
        elapsed = time.monotonic() - started
        escalation.refresh_from_db()
        assert escalation.assessment_status == "unavailable" and elapsed < WORKER_ASSESSMENT_TIMEOUT + 5
        client.force_login(tenant_a.coverage_engineer)
        response = client.get(f"/sessions/{session.pk}/handoff/")
        assert response.status_code == 200 and "Assessment unavailable" in response.content.decode()
        assert "Start here" in response.content.decode()
    finally:
        fake_anthropic_server.reset()


def test_the_screen_says_unavailable_when_the_assessment_is_late(session, tenant_a, client, settings):

    escalation = escalations.session_escalate(session=session, actor=session.owner, reason="Stuck", package="x")
    client.force_login(tenant_a.coverage_engineer)
    pending = client.get(f"/sessions/{session.pk}/handoff/assessment/", headers=HTMX).content.decode()
    assert "Drafting the assessment" in pending and 'hx-trigger="every 2s"' in pending
    late = timezone.now() - timedelta(seconds=settings.HANDOFF_ASSESSMENT_TIMEOUT + 6)
    Escalation.objects.filter(pk=escalation.pk).update(created_at=late)
    body = client.get(f"/sessions/{session.pk}/handoff/assessment/", headers=HTMX).content.decode()
    assert "Assessment unavailable" in body and "every 2s" not in body


def test_the_note_is_drafted_with_what_the_engineer_wrote_under_resolve(session, fake_anthropic, client):
    fake_anthropic.set_responder(lambda body: Reply.text(NOTE))
    client.force_login(session.owner)
    client.get(_url(session), headers=HTMX)
    typed = "Removed the stale Office credentials; Outlook signed in once and stayed."
    client.get(_url(session), {"summary": typed}, headers=HTMX)
    assert len(fake_anthropic.requests) == 2 and typed in _bundle_sent(fake_anthropic)
    again = client.get(_url(session), {"summary": typed}, headers=HTMX).content.decode()
    assert len(fake_anthropic.requests) == 2 and "from cache" in again  # the same text: the same draft
    client.get(_url(session, "escalation_package"), {"summary": typed}, headers=HTMX)
    assert typed not in _bundle_sent(fake_anthropic)  # only the resolution note reads it


def test_the_demo_note_says_what_the_engineer_wrote(session):
    typed = "Removed the stale Office credentials."
    note = previews.preview_get(
        session=session, kind="resolution_note", actor=session.owner, resolution_summary=typed
    ).markdown
    assert note.split("## Resolution\n", 1)[1].strip() == typed


def test_a_fix_that_failed_and_was_replaced_is_still_a_path_tried(session, client, settings):
    """Issue #10: after 'It didn't fix it' the next fix supersedes the failed one; the package still
    says what was tried, once, with no doubled punctuation."""
    settings.AI_MODE = "demo"
    first = fixes.fix_propose(session=session, step=None, title="Clear the cached Office credentials.", confidence=70)
    fixes.fix_record_outcome(fix=first, actor=session.owner, outcome="applied_failed", note="Prompt came back.")
    fixes.fix_propose(session=session, step=None, title="Create a new Outlook profile", confidence=60)
    bundle = previews.preview_bundle(session=session)
    assert [f["title"] for f in bundle["fixes_tried"]] == ["Clear the cached Office credentials"]
    package = previews.preview_get(session=session, kind="escalation_package", actor=session.owner).markdown
    assert "- Applied “Clear the cached Office credentials”; it did not work: Prompt came back." in package
    assert ".." not in package and ".”." not in package


def test_the_note_says_which_fixes_did_not_work_never_as_the_resolution(session, settings):
    """Issue #10 (the engineer's journey): a fix that failed, replaced by the one that worked, is a
    path ruled out in the customer's note too — under What we confirmed, with its reason — and the
    Resolution section stays what the engineer wrote. A failed fix still active is told the same."""
    settings.AI_MODE = "demo"
    first = fixes.fix_propose(session=session, step=None, title="Update the printer port.", confidence=75)
    fixes.fix_record_outcome(fix=first, actor=session.owner, outcome="applied_failed", note="Port was right.")
    second = fixes.fix_propose(session=session, step=None, title="Restart the spooler", confidence=75)
    fixes.fix_record_outcome(fix=second, actor=session.owner, outcome="applied_success")
    typed = "Restarted the spooler and cleared the stuck job."

    note = previews.preview_get(
        session=session, kind="resolution_note", actor=session.owner, resolution_summary=typed
    ).markdown

    confirmed = note.split("## What we confirmed\n", 1)[1].split("\n## ", 1)[0]
    assert "- Applied “Update the printer port”; it did not work: Port was right." in confirmed
    assert "Nothing was confirmed" not in confirmed and "Restart the spooler" not in confirmed
    assert note.split("## Resolution\n", 1)[1].strip() == typed

    # Resolved some other way while the active fix had failed: still a path tried, not the resolution.
    third = fixes.fix_propose(session=session, step=None, title="Reinstall the driver", confidence=60)
    fixes.fix_record_outcome(fix=third, actor=session.owner, outcome="applied_failed", note="Same error.")
    note = previews.preview_get(session=session, kind="resolution_note", actor=session.owner).markdown
    confirmed, _, resolution = note.split("## What we confirmed\n", 1)[1].partition("## Resolution\n")
    assert "- Applied “Reinstall the driver”; it did not work: Same error." in confirmed
    assert "Reinstall the driver" not in resolution


def test_the_note_prompt_asks_for_the_fixes_that_did_not_work():
    system = prompts.RESOLUTION_NOTE_SYSTEM
    confirmed = system.split("## What we confirmed", 1)[1].split("## Root cause", 1)[0]
    assert "fixes_tried" in confirmed and "applied_failed" in confirmed and "ruled out" in confirmed
    assert "A fix that did not work is never what resolved it." in system.split("## Resolution", 1)[1]
