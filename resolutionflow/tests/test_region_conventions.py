"""Every region answers the same way (ARCHITECTURE.md, "Request flow"): an HTMX request gets the
region's partial alone, starting with its root element's stable id, and the response varies on
HX-Request; the same URL without HTMX gets the full page (a read) or a redirect back to it (an
action). One row per region; a new region adds a row."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from facts_app.models import Fact
from sessions_app.models import AISession, Escalation, LaneItem, SessionStep, SuggestedFix
from sessions_app.tests.factories import AISessionFactory, question_turn, step_content

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ROOT = re.compile(r'^\s*(?:\{#.*?#\}\s*)?<(\w+)\s[^>]*?\bid="([^"]+)"', re.DOTALL)


@pytest.fixture
def ours(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer, step_count=1)
    account = tenant_a.account
    step = SessionStep.objects.create(
        account=account, session=session, order=1, step_type="question", content=step_content(question_turn())
    )
    item = LaneItem.objects.create(
        account=account, session=session, kind="question", public_id="Q1", text="Is MFA on?",
        normalized_text="Is MFA on?", first_step=1, last_step=1,
    )  # fmt: skip
    fix = SuggestedFix.objects.create(account=account, session=session, title="Reset it", applied_at=timezone.now())
    Fact.objects.create(account=account, session=session, text="OWA works.", source_type="user_note")
    retry = AISessionFactory(owner=tenant_a.engineer, step_count=1)  # answered; the AI's turn failed
    SessionStep.objects.create(
        account=account, session=retry, order=1, step_type="question", content=step_content(question_turn()),
        response_kind="skipped", responded_at=timezone.now(), answer_message="Skipped",
    )  # fmt: skip
    waiting = AISessionFactory(owner=tenant_a.admin, status="requesting_escalation")
    Escalation.objects.create(account=account, session=waiting, escalated_by=tenant_a.admin, reason="Stuck")
    return {"session": session, "step": step, "item": item, "fix": fix, "waiting": waiting, "retry": retry}


# (name, url kwargs from the fixture, method, data, root id of the region)
REGIONS = [
    ("facts_app:panel", {"session_id": "session"}, "get", {}, "facts_app-what-we-know"),
    ("facts_app:add", {"session_id": "session"}, "post", {"text": "Cache cleared."}, "facts_app-facts"),
    (
        "facts_app:preview",
        {"session_id": "session", "kind": "resolution_note"},
        "get",
        {},
        "facts_app-preview-resolution_note",
    ),
    ("sessions_app:escalation_queue", {}, "get", {}, "sessions_app-queue"),
    ("sessions_app:handoff_assessment", {"session_id": "waiting"}, "get", {}, "sessions_app-assessment"),
    ("facts_app:assessment_retry", {"session_id": "waiting"}, "post", {}, "sessions_app-assessment"),
    ("sessions_app:lane_answer", {"session_id": "session", "item_id": "item"}, "post", {"answer": "Yes"},
     "sessions_app-lane-items"),
    ("sessions_app:answer", {"session_id": "session", "step_id": "step"}, "post", {"kind": "skipped"}, "step-1"),
    ("sessions_app:turn", {"session_id": "retry"}, "post", {}, "sessions_app-turn-status"),
    ("sessions_app:fix_outcome", {"session_id": "session", "fix_id": "fix"}, "post", {"outcome": "applied_success"},
     "sessions_app-fix-banner"),
    ("sessions_app:fix_decide", {"session_id": "session", "fix_id": "fix"}, "post", {"decision": "dismissed"},
     "sessions_app-fix-banner"),
]  # fmt: skip


def _url(name: str, kwargs: dict, objects: dict) -> str:
    return reverse(name, kwargs={k: (objects[v].pk if v in objects else v) for k, v in kwargs.items()})


@pytest.mark.parametrize(("name", "kwargs", "method", "data", "root"), REGIONS, ids=[r[0] for r in REGIONS])
def test_a_region_answers_htmx_with_its_partial_alone(tenant_a, client, ours, name, kwargs, method, data, root):
    client.force_login(tenant_a.engineer)
    url = _url(name, kwargs, ours)

    response = getattr(client, method)(url, data, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200, body[:300]
    assert "HX-Error-Status" not in response, body[:300]
    assert "<html" not in body and "<body" not in body
    first = ROOT.match(body)
    assert first, f"{name}: the partial does not start with an element with an id: {body[:200]!r}"
    if name == "sessions_app:turn":  # a retry: the new step first, then the turn status it replaces
        assert first.group(2) == "step-2" and f'id="{root}"' in body
    elif name == "facts_app:add":  # the new note, appended to the list it retargets
        assert first.group(2).startswith("fact-") and response["HX-Retarget"] == f"#{root}"
    elif name == "sessions_app:answer":  # the answered step in place of its card, then the next one
        assert first.group(2) == root and 'id="step-2"' in body
    else:
        assert first.group(2) == root, body[:200]
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize(("name", "kwargs", "method", "data", "root"), REGIONS, ids=[r[0] for r in REGIONS])
def test_without_htmx_the_same_url_gives_the_page_or_a_redirect_to_it(
    tenant_a, client, ours, name, kwargs, method, data, root
):
    client.force_login(tenant_a.engineer)

    response = getattr(client, method)(_url(name, kwargs, ours), data)

    pages = {reverse("sessions_app:handoff", args=[ours["waiting"].pk])} | {
        reverse("sessions_app:detail", args=[ours[key].pk]) for key in ("session", "retry")
    }
    if method == "get" and response.status_code == 200:  # a page of its own (the queue, a preview)
        assert "<html" in response.content.decode()
    else:  # a region of a page: back to that page
        assert response.status_code == 302 and response["Location"] in pages
    assert "HX-Request" in response["Vary"]


def test_a_partial_is_not_a_page_even_for_a_session_awaiting_pickup(tenant_a, client, ours):
    """The read-only view of a region is the same partial, with no actions in it."""
    AISession.objects.filter(pk=ours["session"].pk).update(status="requesting_escalation")
    client.force_login(tenant_a.coverage_engineer)
    body = client.get(_url("facts_app:panel", {"session_id": "session"}, ours), headers=HTMX).content.decode()
    assert ROOT.match(body).group(2) == "facts_app-what-we-know"
    assert "hx-post" not in body
