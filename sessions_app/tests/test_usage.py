"""Token use and cost per step and per session (SPEC §2 Steps, §10), from the fake API's usage."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Sum

from resolutionflow.ai.client import cost_usd
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIUsage
from sessions_app.models import AISession, LaneItem

from .factories import classification, question_turn

pytestmark = pytest.mark.django_db


def usage(i, o, r=0, w=0):
    return {"input_tokens": i, "output_tokens": o, "cache_read_input_tokens": r, "cache_creation_input_tokens": w}


def session_rows(session):
    return AIUsage.objects.filter(subject_type="session", subject_id=session.pk)


def assert_totals_match_rows(session):
    session.refresh_from_db()
    sums = session_rows(session).aggregate(
        i=Sum("input_tokens"), o=Sum("output_tokens"), r=Sum("cache_read_tokens"), w=Sum("cache_write_tokens")
    )
    assert (session.input_tokens, session.output_tokens, session.cache_read_tokens, session.cache_write_tokens) == (
        sums["i"],
        sums["o"],
        sums["r"],
        sums["w"],
    )
    assert session.cost_usd == sum((u.cost_usd for u in session_rows(session)), Decimal("0"))


def test_session_totals_are_the_sum_of_its_ai_calls_and_the_page_shows_them(fake_anthropic, tenant_a, client):
    fake_anthropic.enqueue(
        Reply.json(classification(), usage=usage(300, 40)),
        Reply.json(question_turn("First?"), usage=usage(2000, 150, w=1800)),
        Reply.json(question_turn("Second?"), usage=usage(2300, 120, r=1800, w=400)),
    )
    client.force_login(tenant_a.engineer)
    client.post("/sessions/new/", {"intake_type": "text", "intake_text": "Outlook prompts for a password"})
    session = AISession.objects.get()
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})

    session.refresh_from_db()
    assert (session.input_tokens, session.output_tokens) == (300 + 2000 + 2300, 40 + 150 + 120)
    assert (session.cache_read_tokens, session.cache_write_tokens) == (1800, 1800 + 400)
    fast, strong = settings.AI_MODEL_FAST, settings.AI_MODEL_STRONG
    expected_cost = (
        cost_usd(fast, input_tokens=300, output_tokens=40)
        + cost_usd(strong, input_tokens=2000, output_tokens=150, cache_write_tokens=1800)
        + cost_usd(strong, input_tokens=2300, output_tokens=120, cache_read_tokens=1800, cache_write_tokens=400)
    )
    assert session.cost_usd == expected_cost > 0
    assert_totals_match_rows(session)
    first, second = session.steps.order_by("order")
    assert (first.input_tokens, first.output_tokens, first.cache_write_tokens) == (2000, 150, 1800)
    assert (second.input_tokens, second.output_tokens, second.cache_read_tokens) == (2300, 120, 1800)

    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"{4600 + 310} tokens" in page
    assert f"${expected_cost:.4f}" in page


def test_failed_calls_count_in_the_session_totals(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    fake_anthropic.enqueue(
        Reply.text("not json", usage=usage(1000, 50)),
        Reply.text("still not json", usage=usage(1100, 60)),
        Reply.json(question_turn("Second?"), usage=usage(1200, 70)),
    )
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})
    assert_totals_match_rows(session)
    assert session.input_tokens >= 1000 + 1100

    client.post(f"/sessions/{session.pk}/turn/")

    assert_totals_match_rows(session)
    assert session.steps.get(order=2).input_tokens == 1200, "a step counts the calls of its own turn"


def test_a_corrective_retry_counts_in_the_step_that_needed_it(begin, fake_anthropic, tenant_a, client):
    session = begin(tenant_a.engineer, question_turn())
    fake_anthropic.enqueue(
        Reply.text("oops", usage=usage(1000, 10)), Reply.json(question_turn("Second?"), usage=usage(1100, 90))
    )

    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})

    step = session.steps.get(order=2)
    assert (step.input_tokens, step.output_tokens) == (2100, 100)
    assert_totals_match_rows(session)


def test_other_sessions_calls_do_not_count(begin, fake_anthropic, tenant_a, tenant_b):
    mine = begin(tenant_a.engineer, question_turn())
    begin(tenant_b.engineer, question_turn())
    begin(tenant_a.admin, question_turn())

    assert_totals_match_rows(mine)
    assert session_rows(mine).count() == 2


def test_every_ai_call_made_for_the_session_counts_in_its_totals(begin, fake_anthropic, tenant_a, client):
    """Not only turns: a fact draft and a preview are paid for by the same session."""

    session = begin(tenant_a.engineer, question_turn(questions=["Does OWA work?"]))
    item = LaneItem.objects.get(session=session)
    client.post(f"/sessions/{session.pk}/lane/{item.pk}/answer/", {"answer": "Yes, OWA signs in"})
    draft = {"substantive": True, "text": "OWA signs in.", "summary": "rules out the account"}
    note = "## Problem\nP\n## What we confirmed\n- OWA\n## Root cause\nC\n## Resolution\nR"
    fake_anthropic.enqueue(Reply.json(draft, usage=usage(900, 30)), Reply.text(note, usage=usage(1500, 200)))
    headers = {"HX-Request": "true"}
    client.post(f"/sessions/{session.pk}/facts/promote/{item.pk}/", {"action": "draft"}, headers=headers)
    client.get(f"/sessions/{session.pk}/preview/resolution_note/", headers=headers)

    assert session_rows(session).filter(action="fact_draft").exists()
    assert_totals_match_rows(session)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    session.refresh_from_db()
    assert f"{session.input_tokens + session.output_tokens} tokens" in page, "the page shows the new totals"


def test_a_failed_turns_cost_is_on_the_next_load_of_the_page(
    begin, fake_anthropic, tenant_a, client, django_capture_on_commit_callbacks
):
    """A retry that fails again changes nothing on the session but its totals: the cached page
    must still show them."""
    session = begin(tenant_a.engineer, question_turn())
    bad = [Reply.text("not json", usage=usage(1000, 50)), Reply.text("still not json", usage=usage(1100, 60))]
    fake_anthropic.enqueue(*bad)
    client.post(f"/sessions/{session.pk}/steps/{session.steps.get().pk}/answer/", {"value": "yes"})
    session.refresh_from_db()
    assert (
        f"{session.input_tokens + session.output_tokens} tokens"
        in client.get(f"/sessions/{session.pk}/").content.decode()
    )

    fake_anthropic.enqueue(*bad)
    with django_capture_on_commit_callbacks(execute=True):  # as committed in production
        client.post(f"/sessions/{session.pk}/turn/")

    session.refresh_from_db()
    assert (
        f"{session.input_tokens + session.output_tokens} tokens"
        in client.get(f"/sessions/{session.pk}/").content.decode()
    )
    assert_totals_match_rows(session)
