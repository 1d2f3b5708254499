"""Demo mode end to end (issue 3 §10): no API key, no network; the offline responder leads
plausible sessions for common MSP problems and a generic path otherwise."""

import pytest

from resolutionflow.ai.models import AIUsage
from sessions_app.demo import GENERIC, SCENARIOS
from sessions_app.models import AISession

pytestmark = pytest.mark.django_db


def start(client, user, text):
    client.force_login(user)
    response = client.post("/sessions/new/", {"intake_type": "text", "intake_text": text})
    assert response.status_code == 302
    return AISession.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


def current(session):
    return session.steps.order_by("-order").first()


def answer(client, session, data):
    response = client.post(f"/sessions/{session.pk}/steps/{current(session).pk}/answer/", data)
    assert response.status_code == 302
    session.refresh_from_db()
    return current(session)


def test_a_demo_session_from_start_to_documentation(tenant_a, client):
    session = start(client, tenant_a.engineer, "Since her password change Outlook keeps asking Jane for her password")
    assert session.problem_domain == "email" and session.steps.count() == 1
    first_confidence = session.confidence_score
    assert session.lane_items.exists(), "the lane fills in from the first step"

    answer(client, session, {"value": current(session).content["options"][0]["value"]})
    answer(client, session, {"kind": "free_text", "text": "OWA signs in without a prompt"})
    third = current(session)
    answer(client, session, {"kind": "skipped"})

    steps = list(session.steps.order_by("order"))
    assert len(steps) == 4 and third.order == 3
    assert [s.response_kind for s in steps[:3]] == ["option", "free_text", "skipped"]
    assert session.confidence_score > first_confidence, "confidence rises as answers come in"
    assert len({s.title for s in steps}) == 4, "every step is a new one"

    client.post(f"/sessions/{session.pk}/resolve/", {"summary": "Cleared stale Office credentials"})
    session.refresh_from_db()
    assert session.status == "resolved"
    doc = client.get(f"/sessions/{session.pk}/documentation.md").content.decode()
    assert "Outlook keeps prompting for the password" in doc and "OWA signs in without a prompt" in doc
    assert "Skipped — can't check now" in doc and "Cleared stale Office credentials" in doc
    assert set(AIUsage.objects.values_list("provider", flat=True)) == {"demo"}


@pytest.mark.parametrize(
    ("intake", "domain"),
    [
        ("Outlook keeps asking for a password", "email"),
        ("The VPN drops every few minutes for remote staff", "networking"),
        ("The printer in reception shows offline", "printing"),
        ("Bob's account is locked out again", "active_directory"),
        ("My PC is really slow since the update", "endpoint"),
        ("The CEO's calendar invites show the wrong time zone", "other"),
    ],
)
def test_each_common_problem_gets_several_sensible_steps(tenant_a, client, intake, domain):
    session = start(client, tenant_a.engineer, intake)
    assert session.problem_domain == domain

    for _ in range(3):
        step = current(session)
        if step.step_type == "question" and step.content["options"]:
            answer(client, session, {"value": step.content["options"][0]["value"]})
        elif step.step_type == "question":
            answer(client, session, {"kind": "free_text", "text": "Started on Monday"})
        else:
            answer(client, session, {"worked": "no"})

    assert session.step_count == 4
    assert len({s.title for s in session.steps.all()}) >= 3, "the session moves on"
    types = {s.step_type for s in session.steps.all()}
    assert "question" in types and types & {"action", "resolution_suggestion"}
    # A fix is proposed only at a step that applies something, never at one that gathers or verifies.
    for fix in session.fixes.select_related("step"):
        applies = ("instruction", "script_generation")
        assert fix.step.step_type == "resolution_suggestion" or fix.step.content.get("kind") in applies


def test_the_demos_fixes_say_what_to_do_not_what_was_done():
    """Issue #10.10: 'Suggested fix: Cleared stale credentials' read as if already done."""

    fixes = [
        step["resolution"]["fix"]
        for scenario in [*SCENARIOS, GENERIC]
        for step, *_ in scenario["steps"]
        if step["type"] == "resolution_suggestion"
    ]
    assert len(fixes) == len(SCENARIOS) + 1
    for fix in fixes:
        first_word = fix.split()[0]
        assert not first_word.endswith("ed"), f"a fix in the past tense: {fix!r}"
