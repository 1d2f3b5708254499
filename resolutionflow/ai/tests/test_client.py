"""The AI door (SPEC §10) with the real SDK on the wire, against the fake Messages API."""

import json
import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from resolutionflow.accounts.models import AuditLog, Notification
from resolutionflow.ai import client
from resolutionflow.ai.client import Subject, ai_json, ai_text
from resolutionflow.ai.errors import AIError
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIUsage

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 1},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["summary", "confidence"],
    "additionalProperties": False,
}
VALID = {"summary": "<one line>", "confidence": 0.5}
SHORT_SYSTEM = "You classify tickets. Reply with a JSON object only."
LONG_SYSTEM = "You help MSP engineers troubleshoot tickets. " * (client.CACHE_MIN_CHARS // 40 + 1)
FAST, STRONG = "session_classify", "session_turn"
RETRY_NOW = {"retry_after_ms": 1}  # keeps SDK retries instant


def ask_json(tenant, *, action=FAST, system=SHORT_SYSTEM, messages="Ticket: VPN drops every hour.", **kw):
    return ai_json(
        action=action,
        system=system,
        messages=messages,
        schema=SCHEMA,
        account=tenant.account,
        user=tenant.engineer,
        **kw,
    )


def ask_text(tenant, *, action=STRONG, **kw):
    return ai_text(
        action=action,
        system=SHORT_SYSTEM,
        messages="Write the resolution note.",
        account=tenant.account,
        user=tenant.engineer,
        **kw,
    )


def raises_ai_error(kind, call):
    with pytest.raises(AIError) as caught:
        call()
    assert caught.value.kind == kind
    return caught.value


# --- tiers pick the model ------------------------------------------------------------


def test_a_fast_action_runs_on_the_fast_model(fake_anthropic, tenant_a):
    ask_json(tenant_a, action=FAST)

    assert [r["model"] for r in fake_anthropic.requests] == [django_settings.AI_MODEL_FAST]
    assert AIUsage.objects.get().tier == "fast"


def test_a_strong_action_runs_on_the_strong_model(fake_anthropic, tenant_a):
    ask_json(tenant_a, action=STRONG)

    assert [r["model"] for r in fake_anthropic.requests] == [django_settings.AI_MODEL_STRONG]
    assert django_settings.AI_MODEL_STRONG != django_settings.AI_MODEL_FAST
    assert AIUsage.objects.get().tier == "strong"


def test_model_names_come_from_settings(fake_anthropic, tenant_a, settings):
    settings.AI_MODEL_STRONG = "claude-strong-override"
    settings.AI_MODEL_FAST = "claude-fast-override"

    ask_json(tenant_a, action=STRONG)
    ask_json(tenant_a, action=FAST)

    assert [r["model"] for r in fake_anthropic.requests] == ["claude-strong-override", "claude-fast-override"]
    assert set(AIUsage.objects.values_list("model", flat=True)) == {"claude-strong-override", "claude-fast-override"}


def test_an_unknown_action_is_a_programming_error(fake_anthropic, tenant_a):
    with pytest.raises(ValueError, match="ACTION_TIERS"):
        ask_json(tenant_a, action="not_an_action")

    assert fake_anthropic.requests == []
    assert not AIUsage.objects.exists()


# --- prompt caching marks ------------------------------------------------------------------


def test_a_long_system_prompt_is_marked_for_caching(fake_anthropic, tenant_a):
    assert len(LONG_SYSTEM) >= client.CACHE_MIN_CHARS

    ask_json(tenant_a, system=LONG_SYSTEM)

    assert fake_anthropic.requests[0]["system"] == [
        {"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral"}}
    ]


def test_a_short_system_prompt_carries_no_cache_mark(fake_anthropic, tenant_a):
    ask_json(tenant_a, system=SHORT_SYSTEM)

    assert fake_anthropic.requests[0]["system"] == [{"type": "text", "text": SHORT_SYSTEM}]


def test_cache_conversation_marks_the_last_block_of_the_last_message(fake_anthropic, tenant_a):
    conversation = [
        {"role": "user", "content": "Ticket: Outlook prompts for a password."},
        {"role": "assistant", "content": '{"summary": "<asked>", "confidence": 0.2}'},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Fact: MFA was reset."},
                {"type": "text", "text": "Fact: only on Wi-Fi."},
            ],
        },
    ]

    ask_json(tenant_a, action=STRONG, messages=conversation, cache_conversation=True)

    sent = fake_anthropic.requests[0]["messages"]
    assert sent[:2] == conversation[:2]
    assert sent[2]["content"] == [
        {"type": "text", "text": "Fact: MFA was reset."},
        {"type": "text", "text": "Fact: only on Wi-Fi.", "cache_control": {"type": "ephemeral"}},
    ]
    assert "cache_control" not in conversation[2]["content"][1], "the caller's messages are not mutated"


def test_without_cache_conversation_no_message_is_marked(fake_anthropic, tenant_a):
    ask_json(tenant_a, messages=[{"role": "user", "content": "Ticket: printer offline."}])

    assert fake_anthropic.requests[0]["messages"] == [{"role": "user", "content": "Ticket: printer offline."}]


# --- JSON calls and usage rows -------------------------------------------------------------


def test_a_json_call_sends_the_schema_and_bounds_output_tokens(fake_anthropic, tenant_a):
    ask_json(tenant_a, max_tokens=333)

    sent = fake_anthropic.requests[0]
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": client.wire_schema(SCHEMA)}}
    assert sent["output_config"]["format"]["schema"]["required"] == ["summary", "confidence"]
    assert sent["max_tokens"] == 333
    assert sent["messages"] == [{"role": "user", "content": "Ticket: VPN drops every hour."}]


def test_a_code_fenced_reply_is_parsed_and_its_usage_recorded_with_cost(fake_anthropic, tenant_a):
    usage = {
        "input_tokens": 120,
        "output_tokens": 40,
        "cache_read_input_tokens": 900,
        "cache_creation_input_tokens": 2000,
    }
    fake_anthropic.enqueue(Reply.json(VALID, usage=usage, fenced=True))

    result = ask_json(tenant_a, action=FAST, subject=Subject("session", 42))

    assert result == VALID
    row = AIUsage.objects.get()
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens) == (120, 40, 900, 2000)
    assert (row.model, row.action, row.tier, row.outcome, row.provider) == (
        django_settings.AI_MODEL_FAST,
        FAST,
        "fast",
        "ok",
        "anthropic",
    )
    assert (row.account, row.user) == (tenant_a.account, tenant_a.engineer)
    assert (row.subject_type, row.subject_id) == ("session", 42)
    # claude-haiku-5-5 per million: input 1.00, output 5.00, cache read 0.10, cache write 1.25
    # 120*1.00 + 40*5.00 + 900*0.10 + 2000*1.25 = 2910 -> $0.002910
    assert django_settings.AI_MODEL_FAST == "claude-haiku-5-5"
    assert row.cost_usd == Decimal("0.002910")


def test_strong_model_cost_uses_its_own_prices(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(
        Reply.json(
            VALID,
            usage={
                "input_tokens": 1000,
                "output_tokens": 200,
                "cache_read_input_tokens": 0,
                "cache_creation_input_tokens": 0,
            },
        )
    )

    ask_json(tenant_a, action=STRONG)

    # claude-sonnet-5-5: 1000*3.00 + 200*15.00 = 6000 per million -> $0.006000
    assert AIUsage.objects.get().cost_usd == Decimal("0.006000")


def test_prose_around_the_object_is_tolerated(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.text(f"Here is the answer:\n{json.dumps(VALID)}\nHope that helps."))

    assert ask_json(tenant_a) == VALID
    assert len(fake_anthropic.requests) == 1


# --- retries on overload and rate limits -------------------------------------------------------


def test_overloaded_once_then_success(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.error(529, "overloaded_error", **RETRY_NOW), Reply.json(VALID))

    assert ask_json(tenant_a) == VALID

    assert len(fake_anthropic.requests) == 2
    assert list(AIUsage.objects.values_list("outcome", flat=True)) == ["ok"]


def test_rate_limited_once_then_success(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.error(429, "rate_limit_error", retry_after=0.01), Reply.json(VALID))

    assert ask_json(tenant_a) == VALID

    assert len(fake_anthropic.requests) == 2
    assert list(AIUsage.objects.values_list("outcome", flat=True)) == ["ok"]


def test_the_retry_after_header_is_honoured(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.error(429, "rate_limit_error", retry_after="0.3"), Reply.json(VALID))

    ask_json(tenant_a)

    first, second = fake_anthropic.requests
    assert second["received_at"] - first["received_at"] >= 0.3
    assert second["headers"]["x-stainless-retry-count"] == "1"


def test_overload_exhausted_after_the_configured_retries(fake_anthropic, tenant_a, settings):
    settings.AI_MAX_RETRIES = 2
    fake_anthropic.enqueue(*[Reply.error(529, "overloaded_error", **RETRY_NOW)] * 3, Reply.json(VALID))

    error = raises_ai_error("busy", lambda: ask_json(tenant_a))

    assert error.retryable
    assert len(fake_anthropic.requests) == 3
    assert fake_anthropic.pending == 1, "the success queued after the third 529 was never asked for"
    assert list(AIUsage.objects.values_list("outcome", flat=True)) == ["overloaded"]


def test_rate_limit_exhausted(fake_anthropic, tenant_a, settings):
    settings.AI_MAX_RETRIES = 1
    fake_anthropic.enqueue(*[Reply.error(429, retry_after=0.01)] * 2)

    raises_ai_error("busy", lambda: ask_json(tenant_a))

    assert len(fake_anthropic.requests) == 2
    assert AIUsage.objects.get().outcome == "rate_limited"


def test_server_errors_exhausted(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(*[Reply.error(500, "api_error", **RETRY_NOW)] * 3)

    raises_ai_error("api_error", lambda: ask_json(tenant_a))

    assert len(fake_anthropic.requests) == 3
    assert AIUsage.objects.get().outcome == "api_error"


def test_x_should_retry_false_is_obeyed(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.error(529, should_retry=False), Reply.json(VALID))

    raises_ai_error("busy", lambda: ask_json(tenant_a))

    assert len(fake_anthropic.requests) == 1


def test_a_bad_request_is_not_retried(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.error(400, "invalid_request_error", "prompt is too long"))

    raises_ai_error("api_error", lambda: ask_json(tenant_a))

    assert len(fake_anthropic.requests) == 1
    assert AIUsage.objects.get().error == "HTTP 400"


def test_a_dropped_connection_is_a_connection_error(fake_anthropic, tenant_a, settings):
    settings.AI_MAX_RETRIES = 0
    fake_anthropic.enqueue(Reply.dropped())

    raises_ai_error("connection", lambda: ask_json(tenant_a))

    assert AIUsage.objects.get().outcome == "connection"


# --- invalid output: one corrective retry ------------------------------------------------------------


def test_malformed_once_then_valid_uses_one_corrective_retry(fake_anthropic, tenant_a):
    bad = '{"summary": "<one line>", "confidence": "high"}'
    fake_anthropic.enqueue(Reply.text(bad), Reply.json(VALID))

    assert ask_json(tenant_a) == VALID

    first, second = fake_anthropic.requests
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assistant, corrective = second["messages"][len(first["messages"]) :]
    assert assistant == {"role": "assistant", "content": bad}
    assert corrective["role"] == "user"
    assert "not a valid JSON object" in corrective["content"]
    assert "confidence" in corrective["content"], "the corrective turn says what was wrong"
    assert second["output_config"] == first["output_config"]
    assert second["model"] == first["model"]
    assert list(AIUsage.objects.order_by("id").values_list("outcome", flat=True)) == ["invalid_output", "ok"]


def test_an_empty_first_reply_is_named_in_the_corrective_turn(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.text(""), Reply.json(VALID))

    assert ask_json(tenant_a) == VALID

    assert fake_anthropic.requests[1]["messages"][1] == {"role": "assistant", "content": "(empty reply)"}
    assert fake_anthropic.requests[1]["reply"]["status"] == 200, "the API accepted the corrective request"


def test_the_corrective_retry_keeps_the_conversation_cache_mark(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.text("not json"), Reply.json(VALID))

    ask_json(tenant_a, cache_conversation=True)

    last = fake_anthropic.requests[1]["messages"][-1]
    assert last["content"][-1]["cache_control"] == {"type": "ephemeral"}


@pytest.mark.parametrize(
    "replies",
    [
        pytest.param(["not json", "still not json"], id="non-json-text"),
        pytest.param(['{"summary": "x"}', '{"summary": "x", "confidence": 7}'], id="schema-mismatch"),
        pytest.param(["[1, 2]", '{"summary": "x", "confidence": 0.5, "extra": true}'], id="not-an-object"),
    ],
)
def test_malformed_twice_raises_a_retryable_error_and_writes_nothing_else(fake_anthropic, tenant_a, replies):
    audit_before, notes_before = AuditLog.objects.count(), Notification.objects.count()
    fake_anthropic.enqueue(*(Reply.text(r) for r in replies))

    error = raises_ai_error("invalid_output", lambda: ask_json(tenant_a))

    assert error.retryable
    assert "try again" in error.message
    assert len(fake_anthropic.requests) == 2
    rows = list(AIUsage.objects.order_by("id"))
    assert [r.outcome for r in rows] == ["invalid_output", "invalid_output"]
    assert all(r.error for r in rows), "each row says what was wrong"
    assert (AuditLog.objects.count(), Notification.objects.count()) == (audit_before, notes_before)


def test_truncation_is_reported_not_retried(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.truncated('{"summary": "the fix is to re'))

    error = raises_ai_error("truncated", lambda: ask_json(tenant_a, max_tokens=64))

    assert error.retryable
    assert len(fake_anthropic.requests) == 1
    row = AIUsage.objects.get()
    assert row.outcome == "truncated"
    assert row.output_tokens == 64, "tokens spent on a cut-off answer are still counted"


def test_a_refusal_is_reported_and_not_retryable(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.refusal())

    error = raises_ai_error("refused", lambda: ask_json(tenant_a))

    assert error.retryable is False
    assert "try again" not in error.message
    assert len(fake_anthropic.requests) == 1
    assert AIUsage.objects.get().outcome == "refused"


# --- timeouts --------------------------------------------------------------------------------


def test_a_hung_reply_fails_within_the_deadline(fake_anthropic, tenant_a, settings):
    settings.AI_DEADLINE = 1.5
    settings.AI_REQUEST_TIMEOUT = 30
    fake_anthropic.enqueue(Reply.hang(30))

    started = time.monotonic()
    raises_ai_error("timeout", lambda: ask_json(tenant_a))
    elapsed = time.monotonic() - started

    assert 1.4 <= elapsed < 3
    row = AIUsage.objects.get()
    assert row.outcome == "timeout"
    assert 1400 <= row.latency_ms < 3000
    # The abandoned call hangs up too, instead of waiting 30 s and retrying in the background.
    assert fake_anthropic.wait_idle(timeout=1.0)
    time.sleep(0.6)  # longer than the SDK's first retry back-off
    assert len(fake_anthropic.requests) == 1


def test_a_slow_attempt_hits_the_per_request_timeout(fake_anthropic, tenant_a, settings):
    settings.AI_REQUEST_TIMEOUT = 0.5
    settings.AI_MAX_RETRIES = 0
    fake_anthropic.enqueue(Reply.hang(30))

    started = time.monotonic()
    raises_ai_error("timeout", lambda: ask_json(tenant_a))

    assert time.monotonic() - started < 2
    assert len(fake_anthropic.requests) == 1
    assert AIUsage.objects.get().outcome == "timeout"


def test_a_slow_attempt_is_retried_when_time_allows(fake_anthropic, tenant_a, settings):
    settings.AI_REQUEST_TIMEOUT = 0.3
    settings.AI_MAX_RETRIES = 1
    fake_anthropic.enqueue(Reply.hang(30), Reply.json(VALID))

    assert ask_json(tenant_a) == VALID

    assert len(fake_anthropic.requests) == 2
    assert list(AIUsage.objects.values_list("outcome", flat=True)) == ["ok"]


# --- free text -----------------------------------------------------------------------------------


def test_ai_text_returns_the_text(fake_anthropic, tenant_a):
    note = "## Problem\nVPN drops.\n## Fix\nRenewed the certificate."
    fake_anthropic.enqueue(Reply.text(note))

    assert ask_text(tenant_a, max_tokens=900) == note

    sent = fake_anthropic.requests[0]
    assert sent["output_config"] is None
    assert sent["max_tokens"] == 900
    assert sent["model"] == django_settings.AI_MODEL_STRONG
    assert AIUsage.objects.get().outcome == "ok"


def test_ai_text_with_an_empty_reply_is_invalid_output(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.text("   "))

    raises_ai_error("invalid_output", lambda: ask_text(tenant_a))

    assert AIUsage.objects.get().outcome == "invalid_output"


# --- secrets and boundaries ------------------------------------------------------------------------


def test_the_api_key_never_reaches_the_log_or_usage_rows(fake_anthropic, tenant_a, settings):
    secret = "sk-ant-secret-do-not-log-1234"
    settings.ANTHROPIC_API_KEY = secret
    fake_anthropic.enqueue(Reply.text("not json"), Reply.json(VALID))

    ask_json(tenant_a)

    headers = fake_anthropic.requests[0]["headers"]
    sent_auth = {k: v for k, v in headers.items() if k in ("x-api-key", "authorization")}
    assert sent_auth, "the SDK sent its credential (redacted by the fake)"
    assert set(sent_auth.values()) == {"***"}
    assert secret not in json.dumps(fake_anthropic.requests)
    for row in AIUsage.objects.values():
        assert secret not in json.dumps(row, default=str)


SOURCE_ROOT = Path(django_settings.BASE_DIR)
IMPORTS_ANTHROPIC = re.compile(
    r"^\s*(import\s+anthropic\b|from\s+anthropic\b)|import_module\(\s*[\"']anthropic\b", re.MULTILINE
)


def python_sources(root: Path):
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d not in {".venv", "node_modules", ".git"} and not d.startswith(".")]
        yield from (Path(folder) / name for name in files if name.endswith(".py"))


def test_only_the_ai_door_imports_anthropic():
    importers = {
        path.relative_to(SOURCE_ROOT).as_posix()
        for path in python_sources(SOURCE_ROOT)
        if IMPORTS_ANTHROPIC.search(path.read_text(encoding="utf-8"))
    }

    assert "resolutionflow/ai/client.py" in importers
    assert all(p.startswith("resolutionflow/ai/") for p in importers), importers
    assert "resolutionflow/ai/fake_api.py" not in importers
    assert "resolutionflow/testing/ai.py" not in importers


def test_the_wire_schema_drops_bounds_the_api_refuses_but_the_reply_is_still_checked(fake_anthropic, tenant_a):
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "name": {"type": "string", "minLength": 1},
        },
        "required": ["score", "name"],
        "additionalProperties": False,
    }
    fake_anthropic.enqueue(Reply.json({"score": 7, "name": "x"}), Reply.json({"score": 0.5, "name": "x"}))
    result = ai_json(action="session_classify", system="s", messages="m", schema=schema, account=tenant_a.account)
    assert result == {"score": 0.5, "name": "x"}
    sent = fake_anthropic.requests[0]["output_config"]["format"]["schema"]
    assert sent["properties"] == {"score": {"type": "number"}, "name": {"type": "string"}}
    assert len(fake_anthropic.requests) == 2  # 7 is out of bounds locally: one corrective retry
