"""What the hot requests cost, pinned (issue #9 targets; `make bench` measures the time):

- an answer and the AI's next turn: at most 20 queries, the same with 3 steps of history or 29;
- a fact write (add a note, and what it returns: the note and the counts): at most 8 queries.

Counted the way production runs them: each request in its own transaction, not inside a test
transaction (where every atomic block would add a SAVEPOINT and a RELEASE that production never
sends), so these tests use the transactional database."""

import pytest

from facts_app.models import Fact
from facts_app.services import feedback_record
from resolutionflow.ai.fake_api import Reply

from .factories import question_turn, session_with_steps

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}
ANSWER_QUERIES = 20
FACT_WRITE_QUERIES = 8


@pytest.mark.parametrize("steps", [3, 29])
def test_an_answer_and_the_next_turn_cost_at_most_20_queries_whatever_the_history(
    fake_anthropic, tenant_a, client, django_assert_max_num_queries, steps
):
    session = session_with_steps(owner=tenant_a.engineer, steps=steps)
    step = session.steps.get(order=steps)
    client.force_login(tenant_a.engineer)
    client.get(f"/sessions/{session.pk}/")
    # The turn re-proposes one open question and adds new questions and checks.
    again = session.lane_items.filter(kind="question").order_by("id").first()
    fake_anthropic.enqueue(
        Reply.json(
            question_turn("Next?", questions=[again.text, "A brand new question?"], checks=["A new check", "Another"])
        )
    )

    with django_assert_max_num_queries(ANSWER_QUERIES):
        response = client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200 and "Next?" in body and "A brand new question?" in body
    session.refresh_from_db()
    assert session.step_count == steps + 1
    # The lane kept the re-proposed question's id and numbered the new items after the old ones.
    again.refresh_from_db()
    assert again.last_step == steps + 1 and session.lane_items.filter(text=again.text).count() == 1
    assert session.lane_items.get(text="A brand new question?").public_id == "Q4"


def test_adding_a_fact_costs_at_most_8_queries(tenant_a, client, django_assert_max_num_queries):
    session = session_with_steps(owner=tenant_a.engineer, steps=3)
    client.force_login(tenant_a.engineer)
    client.get(f"/sessions/{session.pk}/")

    with django_assert_max_num_queries(FACT_WRITE_QUERIES):
        response = client.post(f"/sessions/{session.pk}/facts/add/", {"text": "OWA signs in fine."}, headers=HTMX)

    assert response.status_code == 200 and "OWA signs in fine." in response.content.decode()
    assert Fact.objects.get(session=session).text == "OWA signs in fine."
    session.refresh_from_db()
    assert session.state_version == 1


def test_votes_on_the_sessions_ai_output_add_one_query_to_an_answer(
    fake_anthropic, tenant_a, client, django_assert_max_num_queries
):
    """Issue 16: the votes are read once per request, and only for a session someone voted on."""
    session = session_with_steps(owner=tenant_a.engineer, steps=29)
    step = session.steps.get(order=29)
    for earlier in session.steps.all():  # every turn, the one being answered too
        feedback_record(session=session, actor=tenant_a.engineer, kind="turn", object_id=earlier.pk, vote="down")
    client.force_login(tenant_a.engineer)
    fake_anthropic.enqueue(Reply.json(question_turn("Next?")))

    with django_assert_max_num_queries(ANSWER_QUERIES + 1):
        response = client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, headers=HTMX)

    assert response.status_code == 200 and "Marked not helpful" in response.content.decode()
