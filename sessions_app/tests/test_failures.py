"""An AI failure on a turn (SPEC §2 Steps, §10): the answer is saved before the AI is called, the
page (HTMX and plain) offers a retry, and the retry continues the session."""

import pytest

from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIUsage
from sessions_app.models import SessionStep

from .factories import action_turn, fenced, message_text, question_turn

pytestmark = pytest.mark.django_db

RETRY_NOW = {"retry_after_ms": 1}


@pytest.fixture(params=["malformed-twice", "529-exhausted", "timeout"])
def failing_turn(request, fake_anthropic, settings):
    """Queue one failed turn of each kind; returns the message the engineer should see."""
    if request.param == "malformed-twice":
        fake_anthropic.enqueue(Reply.text("Sure! Here is the next step: check DNS."), Reply.text('{"step": '))
        return "The AI gave an answer we could not read."
    if request.param == "529-exhausted":
        settings.AI_MAX_RETRIES = 2
        fake_anthropic.enqueue(*[Reply.error(529, **RETRY_NOW)] * 3)
        return "The AI is busy"
    settings.AI_MAX_RETRIES = 0
    settings.AI_REQUEST_TIMEOUT = 0.3
    settings.AI_DEADLINE = 0.4
    fake_anthropic.enqueue(Reply.hang(5, then=Reply.json(action_turn())))
    return "The AI took too long to answer."


def answer_url(session, step):
    return f"/sessions/{session.pk}/steps/{step.pk}/answer/"


@pytest.fixture
def started(begin, tenant_a):
    """A session on its first step (started before the failure settings apply to the turn)."""
    return begin(tenant_a.engineer, question_turn("Does it happen on every device?"))


def test_htmx_answer_is_kept_the_partial_offers_retry_and_the_retry_continues(
    started, failing_turn, fake_anthropic, tenant_a, client, settings
):
    session = started
    step = session.steps.get()

    response = client.post(
        answer_url(session, step),
        {"kind": "free_text", "text": "Only on the office Wi-Fi"},
        headers={"HX-Request": "true"},
    )

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert failing_turn in body and ("Nothing you entered was lost." in body or "your answer is saved" in body)
    assert f'hx-post="/sessions/{session.pk}/turn/"' in body and "Try the next step again" in body
    step.refresh_from_db()
    assert (step.response_kind, step.response_text) == ("free_text", "Only on the office Wi-Fi"), "answer saved"
    session.refresh_from_db()
    assert session.step_count == 1

    # The retry, once the AI is back.
    settings.AI_REQUEST_TIMEOUT, settings.AI_DEADLINE = 5, 8
    fake_anthropic.wait_idle()
    fake_anthropic.enqueue(Reply.json(action_turn("Forget the Wi-Fi network and reconnect.")))
    retry = client.post(f"/sessions/{session.pk}/turn/", headers={"HX-Request": "true"})

    assert "Forget the Wi-Fi network and reconnect." in retry.content.decode()
    assert "Try the next step again" not in retry.content.decode()
    session.refresh_from_db()
    assert session.step_count == 2
    assert fenced(message_text(fake_anthropic.requests[-1]), "engineer") == "Only on the office Wi-Fi"


def test_plain_answer_is_kept_the_page_offers_retry_and_the_retry_continues(
    started, failing_turn, fake_anthropic, tenant_a, client, settings
):
    session = started
    step = session.steps.get()

    response = client.post(answer_url(session, step), {"value": "no"})

    assert response.status_code == 302 and response["Location"] == f"/sessions/{session.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert failing_turn in page
    assert f'action="/sessions/{session.pk}/turn/"' in page
    step.refresh_from_db()
    assert (step.response_kind, step.response_value) == ("option", "no")

    # Reloading the page later still offers the retry (the toast is gone by then).
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert failing_turn not in page
    assert "Your answer is saved." in page and f'action="/sessions/{session.pk}/turn/"' in page

    settings.AI_REQUEST_TIMEOUT, settings.AI_DEADLINE = 5, 8
    fake_anthropic.wait_idle()
    fake_anthropic.enqueue(Reply.json(question_turn("Which access point?")))
    retry = client.post(f"/sessions/{session.pk}/turn/")

    assert retry.status_code == 302
    assert session.steps.get(order=2).content["text"] == "Which access point?"
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Which access point?" in page and "Your answer is saved." not in page


def test_a_failed_turn_is_retried_twice_then_succeeds_without_duplicating_steps(
    started, fake_anthropic, tenant_a, client
):
    session = started
    fake_anthropic.enqueue(Reply.text("?"), Reply.text("?"), Reply.text("?"), Reply.text("?"))
    client.post(answer_url(session, session.steps.get()), {"value": "yes"})
    client.post(f"/sessions/{session.pk}/turn/")
    assert session.steps.count() == 1

    fake_anthropic.enqueue(Reply.json(question_turn("Finally?")))
    client.post(f"/sessions/{session.pk}/turn/")
    client.post(f"/sessions/{session.pk}/turn/")  # a double submit: the waiting step is kept, no new call

    assert list(session.steps.values_list("order", flat=True)) == [1, 2]
    assert AIUsage.objects.filter(action="session_turn").count() == 1 + 4 + 1


def test_a_refused_turn_says_so_and_keeps_the_answer(started, fake_anthropic, tenant_a, client):
    session = started
    fake_anthropic.enqueue(Reply.refusal())

    response = client.post(answer_url(session, session.steps.get()), {"value": "yes"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "The AI declined to answer this request." in body
    assert SessionStep.objects.get(session=session).response_value == "yes"
