"""Prompt caching pays across a session's turns (SPEC §10, issue 14 §3): the conversation prefix is
byte-identical from turn to turn, so through the real SDK and the fake Messages API (which caches
as the real API does) most of each later turn's input is read from the cache."""

import io

import pytest
from django.core.management.base import OutputWrapper

from resolutionflow.ai.client import cache_read_share, collect_usage
from resolutionflow.ai.fake_api import Reply
from sessions_app import prompts
from sessions_app.bench import cache as bench_cache

from .factories import question_turn

pytestmark = pytest.mark.django_db

QUESTIONS = [
    "Does it happen on every device?",
    "Does Outlook on the web ask for the password too?",
    "Was the password changed in the last week?",
    "Is the mailbox in a hybrid Exchange setup?",
    "Does a new Outlook profile stop the prompts?",
]


def five_turns(begin, fake_anthropic, tenant_a, client) -> list[list]:
    """A session's five AI turns, driven as the engineer drives them (answers on the page); the
    usage rows of each turn."""
    by_turn = []
    with collect_usage() as calls:
        session = begin(tenant_a.engineer, question_turn(QUESTIONS[0]))
    by_turn.append([c for c in calls if c.action == "session_turn"])
    for text in QUESTIONS[1:]:
        step = session.steps.order_by("-order").first()
        fake_anthropic.enqueue(Reply.json(question_turn(text, questions=["Which devices?"])))
        with collect_usage() as calls:
            response = client.post(f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"})
        assert response.status_code in (200, 302)
        by_turn.append([c for c in calls if c.action == "session_turn"])
    assert session.steps.count() == 5
    return by_turn


def test_by_the_fifth_turn_at_least_80_percent_of_the_input_is_read_from_the_cache(
    begin, fake_anthropic, tenant_a, client
):
    by_turn = five_turns(begin, fake_anthropic, tenant_a, client)

    shares = [cache_read_share(calls) for calls in by_turn]
    assert [len(calls) for calls in by_turn] == [1] * 5, "one call per turn"
    assert shares[0] == 0, "the first turn has nothing to read yet"
    assert by_turn[0][0].cache_write_tokens > 0, "…and writes the system prompt and the intake"
    assert all(share > 0.5 for share in shares[1:]), f"every later turn reads the prefix: {shares}"
    assert shares[4] >= 0.80, f"cache-read share by turn: {shares}"


def test_each_turn_reads_everything_the_turn_before_it_cached(begin, fake_anthropic, tenant_a, client):
    """The prefix is byte-identical between turns: a turn reads exactly what the one before read
    and wrote, and writes only its new messages (the last AI turn and the engineer's answer)."""
    rows = [calls[0] for calls in five_turns(begin, fake_anthropic, tenant_a, client)]

    for before, after in zip(rows, rows[1:], strict=False):
        assert after.cache_read_tokens == before.cache_read_tokens + before.cache_write_tokens
        assert 0 < after.cache_write_tokens < before.cache_read_tokens + before.cache_write_tokens
    turn_requests = [r for r in fake_anthropic.requests if r["system"][0]["text"] == prompts.TURN_SYSTEM]
    assert [r["usage"]["input_tokens"] for r in turn_requests] == [0] * 5, "the conversation is cached to its end"


def test_the_bench_figure_drives_five_turns_and_meets_its_target(tenant_a):
    text = io.StringIO()

    met = bench_cache.report(OutputWrapper(text), user=tenant_a.engineer)

    lines = text.getvalue().splitlines()
    assert met, text.getvalue()
    assert [line.split()[0] for line in lines[3:8]] == ["1", "2", "3", "4", "5"]
    assert lines[-1].startswith("cache-read share of input at turn 5 (>= 0.80)") and lines[-1].endswith(" met")
