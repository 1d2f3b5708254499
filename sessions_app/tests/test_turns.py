"""AI turns (SPEC §2 Steps, Task lane): each step type on the page, options capped, confidence to
tier, lane items with stable ids across turns, lane answers reported to the AI."""

import pytest

from resolutionflow.ai.fake_api import Reply
from sessions_app.models import AISession, LaneItem, SessionStep
from sessions_app.services import turns

from .factories import action_turn, fenced, message_text, question_turn, resolution_turn

pytestmark = pytest.mark.django_db


def answer_url(session, step):
    return f"/sessions/{session.pk}/steps/{step.pk}/answer/"


def current(session) -> SessionStep:
    return session.steps.order_by("-order").first()


# --- each step type renders and can be answered -------------------------------------------


def test_a_question_renders_with_its_why_options_free_text_and_skip(begin, tenant_a, client):
    session = begin(
        tenant_a.engineer,
        question_turn(
            "Does Outlook on the web work?",
            why="Separates the account from the client.",
            options=(("Works fine", "owa_ok"), ("Also fails", "owa_fails")),
        ),
    )

    page = client.get(f"/sessions/{session.pk}/").content.decode()

    assert "Does Outlook on the web work?" in page and "Separates the account from the client." in page
    assert 'name="value" value="owa_ok"' in page and ">Works fine</button>" in page
    assert 'name="value" value="owa_fails"' in page
    assert 'name="text"' in page and 'value="free_text"' in page and 'value="skipped"' in page
    assert 'name="worked"' not in page, "a question has no result to report"
    assert f'action="{answer_url(session, current(session))}"' in page


def test_a_question_without_free_text_or_skip_offers_only_its_options(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn("Wired or wireless?", free=False, skip=False))

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    card = page[page.index('data-testid="current-step"') :]
    card = card[: card.index("</article>")]  # the step card only: the lane has text inputs of its own

    assert 'name="value" value="yes"' in card
    assert 'value="free_text"' not in card and 'value="skipped"' not in card and 'name="text"' not in card


def test_an_action_renders_with_its_kind_and_expected_outcome_and_takes_a_result(
    begin, fake_anthropic, tenant_a, client
):
    session = begin(
        tenant_a.engineer,
        action_turn("Run gpupdate /force on the laptop.", kind="verification", expected="Policies apply cleanly."),
    )
    step = current(session)
    assert step.step_type == "action" and step.content["kind"] == "verification"

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Run gpupdate /force on the laptop." in page and "Policies apply cleanly." in page
    assert 'name="worked" value="yes"' in page and 'name="worked" value="no"' in page
    assert 'value="skipped"' in page

    fake_anthropic.enqueue(Reply.json(question_turn("Next?")))
    client.post(answer_url(session, step), {"worked": "no", "text": "Error 0x80070005"})
    step.refresh_from_db()
    assert (step.response_kind, step.action_worked, step.response_text) == ("action_result", False, "Error 0x80070005")


def test_a_resolution_suggestion_renders_its_fix_and_follow_ups_and_takes_a_result(
    begin, fake_anthropic, tenant_a, client
):
    session = begin(tenant_a.engineer, resolution_turn("Removed the stale Office credentials."))
    step = current(session)

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Suggested fix: Removed the stale Office credentials." in page
    assert "Tell the user to sign in once on each device." in page
    assert "That fixed it" in page

    fake_anthropic.enqueue(Reply.json(question_turn("Anything else?")))
    client.post(answer_url(session, step), {"worked": "yes"})
    step.refresh_from_db()
    assert (step.response_kind, step.action_worked) == ("action_result", True)


def test_options_are_capped_at_five(begin, fake_anthropic, tenant_a, client):
    options = [(f"Option {n}", f"o{n}") for n in range(1, 8)]
    session = begin(tenant_a.engineer, question_turn("Which one?", options=options))
    step = current(session)

    assert [o["value"] for o in step.content["options"]] == ["o1", "o2", "o3", "o4", "o5"]
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert page.count('name="value" value="o') == 5 and 'value="o6"' not in page

    response = client.post(answer_url(session, step), {"value": "o6"}, follow=True)
    assert "Pick one of the offered options." in response.content.decode()
    step.refresh_from_db()
    assert not step.answered and fake_anthropic.received == 2


def test_a_turn_naming_a_step_type_without_its_object_is_a_readable_failure(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    broken = question_turn("Next?")
    broken["step"]["question"] = None
    fake_anthropic.enqueue(Reply.json(broken))

    response = client.post(answer_url(session, current(session)), {"kind": "free_text", "text": "Every device"})

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.step_count == 1 and current(session).response_text == "Every device"
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "The AI gave an answer we could not read." in page


# --- confidence to tier -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "tier"),
    [
        (0.95, "guided"),
        (0.8, "guided"),
        (0.79, "exploring"),
        (0.4, "exploring"),
        (0.39, "discovery"),
        (0.0, "discovery"),
    ],
)
def test_confidence_sets_the_tier(begin, tenant_a, confidence, tier):
    session = begin(tenant_a.engineer, question_turn(confidence=confidence))

    assert (session.confidence_score, session.confidence_tier) == (confidence, tier)
    assert current(session).confidence == confidence


def test_the_tier_follows_the_latest_turn_and_the_page_shows_it(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(confidence=0.2))
    assert session.confidence_tier == "discovery"

    fake_anthropic.enqueue(Reply.json(action_turn(confidence=0.85)))
    client.post(answer_url(session, current(session)), {"value": "yes"})

    session.refresh_from_db()
    assert (session.confidence_score, session.confidence_tier) == (0.85, "guided")
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Guided · 85%" in page


# --- the task lane --------------------------------------------------------------------------


def test_lane_items_keep_their_ids_across_turns(begin, fake_anthropic, tenant_a, client):
    session = begin(
        tenant_a.engineer,
        question_turn(
            questions=["Does Outlook on the web work?", "Which Office build is installed?"],
            checks=["Check Credential Manager for Office entries"],
        ),
    )
    first = {i.public_id: (i.pk, i.kind, i.text) for i in session.lane_items.all()}
    assert first == {
        "Q1": (first["Q1"][0], "question", "Does Outlook on the web work?"),
        "Q2": (first["Q2"][0], "question", "Which Office build is installed?"),
        "C1": (first["C1"][0], "check", "Check Credential Manager for Office entries"),
    }

    # The same text with other whitespace keeps its id; new text gets a new id; a dropped item is kept.
    fake_anthropic.enqueue(
        Reply.json(
            question_turn(
                "Second?",
                questions=["  Does Outlook on\n the   web work? ", "Did the password change recently?"],
                checks=["Check Credential Manager for Office entries", "Check the sign-in logs in Entra"],
            )
        )
    )
    client.post(answer_url(session, current(session)), {"value": "yes"})
    items = {i.public_id: i for i in LaneItem.objects.filter(session=session)}
    assert items["Q1"].pk == first["Q1"][0] and items["C1"].pk == first["C1"][0]
    assert (
        items["Q3"].text == "Did the password change recently?"
        and items["C2"].text == "Check the sign-in logs in Entra"
    )
    assert set(items) == {"Q1", "Q2", "Q3", "C1", "C2"}

    # An item proposed again after being dropped keeps its first id.
    fake_anthropic.enqueue(Reply.json(question_turn("Third?", questions=["Which Office build is installed?"])))
    client.post(answer_url(session, current(session)), {"value": "no"})
    q2 = LaneItem.objects.get(session=session, public_id="Q2")
    assert q2.pk == first["Q2"][0] and (q2.first_step, q2.last_step) == (1, 3)
    assert LaneItem.objects.filter(session=session).count() == 5

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert 'id="lane-Q2"' in page and 'id="lane-Q1"' not in page, "the lane shows what the AI still wants"


def test_the_same_text_as_a_question_and_as_a_check_are_two_items(begin, tenant_a):
    session = begin(tenant_a.engineer, question_turn(questions=["Is the VPN up?"], checks=["Is the VPN up?"]))

    assert sorted(session.lane_items.values_list("public_id", flat=True)) == ["C1", "Q1"]


def test_at_most_five_items_of_each_kind_are_kept_per_turn(begin, tenant_a):
    session = begin(
        tenant_a.engineer,
        question_turn(questions=[f"Question {n}?" for n in range(8)], checks=[f"Check {n}" for n in range(7)]),
    )

    assert session.lane_items.filter(kind="question").count() == 5
    assert session.lane_items.filter(kind="check").count() == 5


def test_answering_a_lane_item_reaches_the_ai_with_the_next_answer_once(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(questions=["Does Outlook on the web work?"]))
    item = session.lane_items.get()

    response = client.post(f"/sessions/{session.pk}/lane/{item.pk}/answer/", {"answer": "  Yes, OWA is fine "})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.answer, item.answered_by) == ("answered", "Yes, OWA is fine", tenant_a.engineer)
    assert fake_anthropic.received == 2, "a lane answer alone does not call the AI"

    fake_anthropic.enqueue(Reply.json(question_turn("Second?")), Reply.json(question_turn("Third?")))
    client.post(answer_url(session, current(session)), {"value": "yes"})
    sent = message_text(fake_anthropic.requests[-1])
    assert "Answers from the task lane since then" in sent
    assert fenced(sent.split("Answers from the task lane since then")[1], "engineer") == (
        "Q1 Does Outlook on the web work? → Yes, OWA is fine"
    )
    item.refresh_from_db()
    assert item.reported_in_step == 1

    client.post(answer_url(session, current(session)), {"value": "no"})
    assert "Answers from the task lane" not in message_text(fake_anthropic.requests[-1]), "reported once"


def test_an_empty_lane_answer_is_refused_with_a_message(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(questions=["Does OWA work?"]))
    item = session.lane_items.get()

    response = client.post(
        f"/sessions/{session.pk}/lane/{item.pk}/answer/", {"answer": "   "}, headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert 'id="sessions_app-lane-items"' in body and "Type an answer before saving." in body
    assert "HX-Trigger" not in response
    item.refresh_from_db()
    assert item.status == "open" and item.answer == ""


def test_a_lane_answer_over_htmx_returns_the_lane_and_announces_the_change(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(questions=["Does OWA work?"]))
    item = session.lane_items.get()

    response = client.post(
        f"/sessions/{session.pk}/lane/{item.pk}/answer/", {"answer": "It works"}, headers={"HX-Request": "true"}
    )

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    # The lane's items in place; the facts panel (now offering to promote it) and the count out of
    # band; the resolve and escalate boxes are left alone (an open box stays open).
    assert body.lstrip().startswith('<div id="sessions_app-lane-items"')
    assert '<section id="facts_app-what-we-know" class="lane-section what-we-know" hx-swap-oob="true"' in body
    assert 'id="resolve-form"' not in body
    assert "It works" in body and "HX-Request" in response["Vary"]
    assert "state-changed" in response["HX-Trigger-After-Settle"]


def test_a_lane_item_of_another_session_cannot_be_answered_through_this_one(begin, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn(questions=["Does OWA work?"]))
    other = AISession.objects.create(account=tenant_a.account, owner=tenant_a.engineer)
    foreign = LaneItem.objects.create(
        account=tenant_a.account,
        session=other,
        kind="question",
        public_id="Q1",
        text="x",
        normalized_text="x",
        first_step=1,
        last_step=1,
    )

    response = client.post(f"/sessions/{session.pk}/lane/{foreign.pk}/answer/", {"answer": "sneaky"})

    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.answer == ""


def test_a_retry_from_a_second_tab_shows_the_step_the_first_tab_got(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    htmx = {"HX-Request": "true"}
    fake_anthropic.enqueue(*[Reply.error(529)] * 3)
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"}, headers=htmx)
    fake_anthropic.enqueue(Reply.json(question_turn("Second?")))
    first_tab = client.post(f"/sessions/{session.pk}/turn/", {"shown": "1"}, headers=htmx).content.decode()
    assert 'id="step-2"' in first_tab
    received = fake_anthropic.received

    # The second tab still shows one step: its retry costs no AI call and brings it step 2.
    second_tab = client.post(f"/sessions/{session.pk}/turn/", {"shown": "1"}, headers=htmx).content.decode()

    assert 'id="step-2"' in second_tab and "Second?" in second_tab
    assert fake_anthropic.received == received
    assert session.steps.count() == 2


def test_a_turn_another_request_recorded_meanwhile_is_the_answer(begin, fake_anthropic, tenant_a, monkeypatch):
    """Two requests ask for the same turn: it is recorded once, and the slower one answers with it,
    its session copy brought up to date (step count, lane)."""
    session = begin(tenant_a.engineer, question_turn())
    turns.session_answer_step(session=session, step=session.steps.get(), actor=tenant_a.engineer, kind="option",
                              value="yes")  # fmt: skip
    real, raced = turns.ai_json, []

    def racing(**kwargs):
        if not raced:
            raced.append(True)
            turns.session_take_turn(session=AISession.objects.get(pk=session.pk), actor=tenant_a.engineer)
        return real(**kwargs)

    monkeypatch.setattr(turns, "ai_json", racing)
    fake_anthropic.enqueue(
        Reply.json(question_turn("Theirs?", questions=["Their question?"])), Reply.json(question_turn("Ours?"))
    )

    step = turns.session_take_turn(session=session, actor=tenant_a.engineer)

    assert (step.order, step.content["text"]) == (2, "Theirs?")
    assert session.steps.count() == 2 and session.step_count == 2
    assert session.lane_items.get().text == "Their question?"
