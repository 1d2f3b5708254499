"""Prompt caching in the fake Messages API, as the Anthropic docs describe the real one: a prefix up
to a `cache_control` breakpoint, byte-identical to one written within the last 5 minutes, is read
from the cache; otherwise the prefix up to the last breakpoint is written if it is long enough;
`input_tokens` counts only what follows the last cached block. Tokens are ~4 characters each
(text blocks count their text), so the numbers below are exact."""

import http.client
import json
from decimal import Decimal

import pytest
from django.conf import settings

from resolutionflow.ai.client import ai_text, cache_read_share
from resolutionflow.ai.fake_api import FakeMessagesAPI, Reply, min_cacheable_tokens
from resolutionflow.ai.models import AIUsage

pytestmark = pytest.mark.django_db

HEADERS = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01", "content-type": "application/json"}
SONNET, HAIKU = "claude-sonnet-5-5", "claude-haiku-5-5"
MARK = {"type": "ephemeral"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    with FakeMessagesAPI(clock=clock) as server:
        yield server


def text(tokens: int, letter: str = "a") -> str:
    return letter * (tokens * 4)


def block(tokens: int, letter: str = "a", *, mark: bool = False, ttl: str | None = None) -> dict:
    b = {"type": "text", "text": text(tokens, letter)}
    if mark:
        b["cache_control"] = {**MARK, **({"ttl": ttl} if ttl else {})}
    return b


def request(system=None, messages=None, *, model=SONNET, tools=None) -> dict:
    body = {"model": model, "max_tokens": 64, "messages": messages or [{"role": "user", "content": text(10, "q")}]}
    if system is not None:
        body["system"] = system
    if tools is not None:
        body["tools"] = tools
    return body


def usage_of(fake, body) -> dict:
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=5)
    try:
        conn.request("POST", "/v1/messages", body=json.dumps(body), headers=HEADERS)
        response = conn.getresponse()
        payload = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 200, payload
    return payload["usage"]


def numbers(usage) -> tuple[int, int, int]:
    """(input, cache read, cache write)"""
    return usage["input_tokens"], usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]


def conversation(turns: int, *, mark_last: bool = True) -> list[dict]:
    """user, assistant, user, ... of 100 tokens each (distinct letters), the last user message marked."""
    messages = []
    for n in range(2 * turns - 1):
        role = "user" if n % 2 == 0 else "assistant"
        messages.append({"role": role, "content": [block(100, chr(ord("b") + n))]})
    if mark_last:
        messages[-1]["content"][-1]["cache_control"] = MARK
    return messages


# --- write, read, miss ----------------------------------------------------------------------------


def test_the_first_call_writes_the_marked_prefix_and_an_identical_second_call_reads_it(fake):
    body = request([block(1100, mark=True)])

    first, second = usage_of(fake, body), usage_of(fake, body)

    assert numbers(first) == (10, 0, 1100)
    assert first["cache_creation"] == {"ephemeral_5m_input_tokens": 1100, "ephemeral_1h_input_tokens": 0}
    assert numbers(second) == (10, 1100, 0)
    assert second["cache_creation"]["ephemeral_5m_input_tokens"] == 0


def test_what_follows_the_breakpoint_may_change_and_still_reads_the_prefix(fake):
    usage_of(fake, request([block(1100, mark=True)]))

    usage = usage_of(fake, request([block(1100, mark=True)], [{"role": "user", "content": text(25, "z")}]))

    assert numbers(usage) == (25, 1100, 0)


def test_one_changed_byte_before_the_breakpoint_misses_and_writes_again(fake):
    usage_of(fake, request([block(1100, mark=True)]))
    changed = {"type": "text", "text": text(1100)[:-1] + "b", "cache_control": MARK}

    assert numbers(usage_of(fake, request([changed]))) == (10, 0, 1100)


def test_the_model_is_part_of_the_prefix(fake):
    usage_of(fake, request([block(2100, mark=True)], model=SONNET))

    assert numbers(usage_of(fake, request([block(2100, mark=True)], model=HAIKU))) == (10, 0, 2100)


def test_a_changed_tool_invalidates_the_system_prompt_after_it(fake):
    tools = [{"name": "lookup", "description": "Look a user up.", "input_schema": {"type": "object"}}]
    usage_of(fake, request([block(1100, mark=True)], tools=tools))
    tools[0]["description"] = "Look a device up."

    _, read, written = numbers(usage_of(fake, request([block(1100, mark=True)], tools=tools)))

    assert (read, written > 1100) == (0, True)


def test_the_same_content_as_a_string_or_a_text_block_is_the_same_prefix(fake):
    usage_of(fake, request([block(1100, mark=True)], [{"role": "user", "content": text(10, "q")}]))

    usage = usage_of(fake, request(text(1100), [{"role": "user", "content": [block(10, "q", mark=True)]}]))

    assert numbers(usage) == (0, 1100, 10)


# --- the minimum cacheable length ------------------------------------------------------------------


@pytest.mark.parametrize(("model", "minimum"), [(SONNET, 1024), (HAIKU, 2048), ("claude-opus-5-5", 1024)])
def test_below_the_models_minimum_nothing_is_cached_and_at_it_the_prefix_is(fake, model, minimum):
    assert min_cacheable_tokens(model) == minimum
    short = request([block(minimum - 1, "s", mark=True)], model=model)
    enough = request([block(minimum, "e", mark=True)], model=model)

    assert numbers(usage_of(fake, short)) == (minimum - 1 + 10, 0, 0)
    assert numbers(usage_of(fake, short)) == (minimum - 1 + 10, 0, 0), "nothing was written to read"
    assert numbers(usage_of(fake, enough)) == (10, 0, minimum)


def test_the_minimum_counts_the_whole_prefix_not_the_marked_block_alone(fake):
    body = request([block(600), block(600, "b", mark=True)])

    assert numbers(usage_of(fake, body)) == (10, 0, 1200)


# --- lifetime ----------------------------------------------------------------------------------------


def test_an_entry_expires_5_minutes_after_its_last_use_and_each_hit_starts_it_again(fake, clock):
    body = request([block(1100, mark=True)])
    usage_of(fake, body)

    clock.now += 299
    assert numbers(usage_of(fake, body))[1] == 1100, "read within 5 minutes"
    clock.now += 299
    assert numbers(usage_of(fake, body))[1] == 1100, "the hit refreshed it"
    clock.now += 300
    assert numbers(usage_of(fake, body)) == (10, 0, 1100), "5 minutes unused: gone, written again"


def test_a_one_hour_breakpoint_lives_an_hour_and_is_reported_as_such(fake, clock):
    body = request([block(1100, mark=True, ttl="1h")])

    first = usage_of(fake, body)
    clock.now += 3000

    assert first["cache_creation"] == {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 1100}
    assert numbers(usage_of(fake, body))[1] == 1100


def test_the_default_lifetime_can_be_shortened_for_a_test(fake, clock):
    fake.prompt_cache.ttl = 10
    body = request([block(1100, mark=True)])
    usage_of(fake, body)
    clock.now += 11

    assert numbers(usage_of(fake, body)) == (10, 0, 1100)


# --- growing conversations: the longest earlier prefix is read, the rest written ---------------------


def test_the_longest_cached_prefix_is_read_and_the_rest_up_to_the_last_breakpoint_written(fake):
    system = [block(1100, mark=True)]
    usage_of(fake, request(system, conversation(1)))  # system + user 1 (marked)

    # The marker moved to the new last message: the entry written at user 1 is found looking back.
    usage = usage_of(fake, request(system, conversation(2)))

    assert numbers(usage) == (0, 1100 + 100, 200)


def test_a_conversation_prefix_reads_more_and_more_each_turn(fake):
    system = [block(1100, mark=True)]
    seen = [numbers(usage_of(fake, request(system, conversation(turn)))) for turn in range(1, 6)]

    assert seen == [(0, 0, 1200), (0, 1200, 200), (0, 1400, 200), (0, 1600, 200), (0, 1800, 200)]


def test_when_the_conversation_entry_is_gone_the_system_prompt_is_still_read(fake):
    system = [block(1100, mark=True)]
    usage_of(fake, request(system, conversation(1)))
    other = [{"role": "user", "content": [{"type": "text", "text": text(100, "z"), "cache_control": MARK}]}]

    assert numbers(usage_of(fake, request(system, other))) == (0, 1100, 100)


def test_an_earlier_entry_more_than_20_blocks_back_is_not_found(fake):
    system = [block(1100, mark=True)]
    many = [{"role": "user", "content": [block(10, "c") for _ in range(25)]}]
    first = [{"role": "user", "content": [block(10, "c") for _ in range(3)]}]
    first[0]["content"][-1]["cache_control"] = MARK
    usage_of(fake, request(system, first))
    many[0]["content"][-1]["cache_control"] = MARK

    # Blocks 1..3 of the message were written; the breakpoint is at block 25, 22 blocks further.
    assert numbers(usage_of(fake, request(system, many))) == (0, 1100, 250)


def test_input_tokens_exclude_the_cached_parts(fake):
    body = request([block(1100, mark=True)], [{"role": "user", "content": text(37, "q")}])
    fake.prompt_cache.enabled = False
    total = usage_of(fake, body)["input_tokens"]
    fake.prompt_cache.enabled = True

    for usage in (usage_of(fake, body), usage_of(fake, body)):
        assert sum(numbers(usage)) == total == 1137
        assert usage["input_tokens"] == 37


# --- switches and overrides ------------------------------------------------------------------------


def test_caching_can_be_turned_off_for_plain_numbers():
    body = request([block(1100, mark=True)])
    with FakeMessagesAPI(cache=False) as fake:
        assert numbers(usage_of(fake, body)) == numbers(usage_of(fake, body)) == (1110, 0, 0)


def test_reset_clears_the_cache_and_restores_the_constructors_settings(fake, clock):
    body = request([block(1100, mark=True)])
    usage_of(fake, body)
    fake.prompt_cache.enabled, fake.prompt_cache.ttl = False, 1
    assert len(fake.prompt_cache) == 1

    fake.reset()

    assert (len(fake.prompt_cache), fake.prompt_cache.enabled, fake.prompt_cache.ttl) == (0, True, 300)
    assert numbers(usage_of(fake, body)) == (10, 0, 1100)


def test_a_scripted_usage_overrides_the_computed_one(fake):
    body = request([block(1100, mark=True)])
    fake.enqueue(Reply.text("ok", usage={"input_tokens": 5, "cache_read_input_tokens": 7}))

    usage = usage_of(fake, body)

    assert numbers(usage) == (5, 7, 1100), "what the script leaves out is still computed"
    assert fake.requests[-1]["usage"]["cache_read_input_tokens"] == 7


def test_more_than_four_breakpoints_or_an_unknown_ttl_are_refused(fake):
    conn = http.client.HTTPConnection(fake.host, fake.port, timeout=5)
    for system in ([block(10, mark=True) for _ in range(5)], [block(10, mark=True, ttl="2h")]):
        conn.request("POST", "/v1/messages", body=json.dumps(request(system)), headers=HEADERS)
        response = conn.getresponse()
        assert response.status == 400, json.loads(response.read())
        response.read()
    conn.close()


# --- through the real SDK and the AI door ------------------------------------------------------------


def test_the_sdk_reads_the_cache_fields_and_the_usage_rows_record_and_price_them(fake_anthropic, tenant_a):
    system = "You help engineers. " * 300  # 6,000 characters: the door marks it for caching
    ask = {"action": "session_turn", "system": system, "account": tenant_a.account}

    ai_text(**ask, messages="First question?")
    ai_text(**ask, messages="Second question, a little longer?")

    first, second = AIUsage.objects.order_by("id")
    assert (first.input_tokens, first.cache_read_tokens, first.cache_write_tokens) == (3, 0, 1500)
    assert (second.input_tokens, second.cache_read_tokens, second.cache_write_tokens) == (8, 1500, 0)
    model = settings.AI_MODEL_STRONG
    prices = settings.AI_PRICES[model]

    def priced(row, tokens, price):
        cost = row.input_tokens * prices["input"] + row.output_tokens * prices["output"] + tokens * prices[price]
        return (cost / 1_000_000).quantize(Decimal("0.000001"))

    assert first.cost_usd == priced(first, 1500, "cache_write")
    assert second.cost_usd == priced(second, 1500, "cache_read")
    assert second.cost_usd < first.cost_usd, "a cache read is cheaper than the write"
    assert cache_read_share([second]) == pytest.approx(1500 / 1508)
