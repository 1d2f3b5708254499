"""The engineer's answers (SPEC §2 Steps): option, free text, skip and action result are stored
as such and reach the next AI request; invalid answers are refused with a clear message and
change nothing."""

import pytest

from resolutionflow.ai.fake_api import Reply
from sessions_app.models import SessionStep

from .factories import action_turn, fenced, message_text, question_turn, resolution_turn

pytestmark = pytest.mark.django_db


def answer_url(session, step):
    return f"/sessions/{session.pk}/steps/{step.pk}/answer/"


def first_step(session) -> SessionStep:
    return session.steps.get(order=1)


@pytest.mark.parametrize(
    ("turn", "form", "stored", "sent"),
    [
        pytest.param(
            question_turn(options=(("Works fine", "owa_ok"), ("Also fails", "owa_fails"))),
            {"value": "owa_fails"},
            ("option", "owa_fails", "", None),
            "Picked: Also fails",
            id="option",
        ),
        pytest.param(
            question_turn(options=(("Works fine", "owa_ok"),)),
            {"value": "owa_ok", "text": "only in Edge"},
            ("option", "owa_ok", "only in Edge", None),
            "Picked: Works fine\nNote: only in Edge",
            id="option-with-note",
        ),
        pytest.param(
            question_turn(),
            {"kind": "free_text", "text": "  Only on the office Wi-Fi, not at home  "},
            ("free_text", "", "Only on the office Wi-Fi, not at home", None),
            "Only on the office Wi-Fi, not at home",
            id="free-text",
        ),
        pytest.param(
            question_turn(),
            {"kind": "skipped"},
            ("skipped", "", "", None),
            "Skipped: the engineer can't check this now.",
            id="skip",
        ),
        pytest.param(
            action_turn(),
            {"worked": "yes", "text": "Prompt gone after sign-in"},
            ("action_result", "", "Prompt gone after sign-in", True),
            "Result: worked.\nDetails: Prompt gone after sign-in",
            id="action-worked",
        ),
        pytest.param(
            action_turn(),
            {"worked": "no"},
            ("action_result", "", "", False),
            "Result: did not work.",
            id="action-did-not-work",
        ),
        pytest.param(
            action_turn(),
            {"kind": "skipped"},
            ("skipped", "", "", None),
            "Skipped: the engineer can't check this now.",
            id="action-skipped",
        ),
        pytest.param(
            resolution_turn(),
            {"worked": "yes"},
            ("action_result", "", "", True),
            "Result: worked.",
            id="fix-worked",
        ),
    ],
)
def test_each_kind_of_answer_is_stored_and_reaches_the_next_ai_request(
    begin, fake_anthropic, tenant_a, client, turn, form, stored, sent
):
    session = begin(tenant_a.engineer, turn)
    fake_anthropic.enqueue(Reply.json(question_turn("Next question?")))

    response = client.post(answer_url(session, first_step(session)), form)

    assert response.status_code == 302
    step = first_step(session)
    assert (step.response_kind, step.response_value, step.response_text, step.action_worked) == stored
    assert step.responded_by == tenant_a.engineer and step.responded_at is not None
    request = fake_anthropic.requests[-1]
    assert request["messages"][-1]["role"] == "user"
    assert fenced(message_text(request), "engineer") == sent
    assert request["messages"][-2] == {"role": "assistant", "content": step.raw_turn}
    session.refresh_from_db()
    assert session.step_count == 2 and session.steps.get(order=2).content["text"] == "Next question?"


def test_the_answered_step_shows_what_the_engineer_answered(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn("Wired or wireless?", options=(("Wireless", "wifi"),)))
    fake_anthropic.enqueue(Reply.json(action_turn()))

    client.post(answer_url(session, first_step(session)), {"value": "wifi"})

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Wired or wireless?" in page and "You:</span> Wireless" in page


# --- invalid answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turn", "form", "message"),
    [
        pytest.param(question_turn(), {"value": "maybe"}, "Pick one of the offered options.", id="unknown-option"),
        pytest.param(
            question_turn(), {"kind": "free_text", "text": "   "}, "Type an answer before sending.", id="empty-text"
        ),
        pytest.param(
            question_turn(skip=False), {"kind": "skipped"}, "This question cannot be skipped.", id="skip-not-allowed"
        ),
        pytest.param(
            question_turn(free=False),
            {"kind": "free_text", "text": "my own words"},
            "This question needs one of the offered options.",
            id="free-text-not-allowed",
        ),
        pytest.param(
            question_turn(),
            {"worked": "yes"},
            "Only an action or a suggested fix has a result to report.",
            id="result-on-a-question",
        ),
        pytest.param(action_turn(), {"value": "yes"}, "This step has no options to pick.", id="option-on-an-action"),
        pytest.param(action_turn(), {"kind": "action_result"}, "Say whether it worked.", id="result-without-verdict"),
        pytest.param(
            question_turn(),
            {"kind": "free_text", "text": "x" * 10_001},
            "The answer is too long (at most 10,000 characters).",
            id="too-long",
        ),
    ],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_invalid_answer_is_refused_with_a_clear_message_and_changes_nothing(
    begin, fake_anthropic, tenant_a, client, turn, form, message, htmx
):
    session = begin(tenant_a.engineer, turn)
    step = first_step(session)
    before = SessionStep.objects.filter(pk=step.pk).values().get()
    received = fake_anthropic.received

    if htmx:
        response = client.post(answer_url(session, step), form, headers={"HX-Request": "true"})
        body = response.content.decode()
        # The step card comes back in place, with the message and nothing else.
        assert response.status_code == 200 and body.lstrip().startswith(f'<article class="turn turn-{step.step_type}')
        assert f'id="step-{step.order}"' in body
        assert message in body
    else:
        response = client.post(answer_url(session, step), form, follow=True)
        assert message in response.content.decode()

    assert SessionStep.objects.filter(pk=step.pk).values().get() == before
    assert fake_anthropic.received == received, "no AI call"
    session.refresh_from_db()
    assert session.step_count == 1


def test_typed_text_comes_back_after_a_refusal(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(skip=False))

    response = client.post(
        answer_url(session, first_step(session)),
        {"kind": "skipped", "text": "I typed this carefully"},
        headers={"HX-Request": "true"},
    )

    assert "I typed this carefully</textarea>" in response.content.decode()


def test_a_second_answer_to_the_same_step_is_refused(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    step = first_step(session)
    fake_anthropic.enqueue(Reply.json(question_turn("Second?")))
    client.post(answer_url(session, step), {"value": "yes"})
    before = list(SessionStep.objects.filter(session=session).order_by("order").values())
    received = fake_anthropic.received

    response = client.post(answer_url(session, step), {"value": "no"}, follow=True)

    assert "This step was already answered." in response.content.decode()
    assert list(SessionStep.objects.filter(session=session).order_by("order").values()) == before
    assert fake_anthropic.received == received
    assert first_step(session).response_value == "yes"


def test_a_second_answer_while_the_next_turn_is_still_missing_is_refused(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    step = first_step(session)
    fake_anthropic.enqueue(Reply.text("garbled"), Reply.text("garbled"))
    client.post(answer_url(session, step), {"value": "yes"})
    assert session.steps.count() == 1 and first_step(session).answered
    received = fake_anthropic.received

    response = client.post(answer_url(session, step), {"value": "no"}, follow=True)

    assert "This step was already answered." in response.content.decode()
    assert first_step(session).response_value == "yes"
    assert fake_anthropic.received == received


def test_a_step_of_another_session_cannot_be_answered_through_this_one(begin, tenant_a, client):
    mine = begin(tenant_a.engineer, question_turn())
    other = begin(tenant_a.engineer, question_turn())

    response = client.post(answer_url(mine, first_step(other)), {"value": "yes"})

    assert response.status_code == 404
    assert not first_step(other).answered
