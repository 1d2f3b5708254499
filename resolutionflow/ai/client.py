"""The one door to the LLM. Nothing else in the project imports `anthropic`.

Two calls: `ai_json` (an object that must match a JSON schema) and `ai_text` (free text).
Both pick the model from the action's tier, send the system prompt as blocks marked for
prompt caching when long enough to cache, bound output tokens, apply a per-request timeout,
SDK retries (429 / 529 / 5xx) and an outer deadline, record one AIUsage row per attempt,
and raise only `AIError`. Without an API key the offline demo provider answers instead.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anthropic
import jsonschema
from django.conf import settings

from . import budget, demo
from .errors import AIError
from .models import AIThrottle, AIUsage
from .signals import usage_recorded
from .tiers import model_for, priority_for, tier_for

logger = logging.getLogger(__name__)

# ~1024 tokens: below this the API does not cache a prefix, so a mark would only add noise.
CACHE_MIN_CHARS = 4000

_clients: dict[tuple, anthropic.Anthropic] = {}
_clients_lock = threading.Lock()
# Calls run on these threads so the caller can stop waiting at the outer deadline.
_executor = concurrent.futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="ai-call")
# The deadline of the call running on this executor thread, read by `_within_deadline`.
_call_budget = threading.local()


# The lists `collect_usage` opened in this context: every usage row recorded is appended to each.
_collectors: contextvars.ContextVar[tuple[list[AIUsage], ...]] = contextvars.ContextVar("ai_usage", default=())


# Set by `background_work()`: every call inside counts as background, whatever its action.
_background: contextvars.ContextVar[bool] = contextvars.ContextVar("ai_background", default=False)


@contextmanager
def background_work() -> Iterator[None]:
    """The AI calls inside are background work (a periodic task drafting what an engineer once
    asked for in a request): the account's background budget, never the live share."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


@contextmanager
def collect_usage() -> Iterator[list[AIUsage]]:
    """The AIUsage rows recorded inside the block, failed attempts and retries included, so a
    caller can add them to its own running totals without reading the usage table back."""
    calls: list[AIUsage] = []
    token = _collectors.set((*_collectors.get(), calls))
    try:
        yield calls
    finally:
        _collectors.reset(token)


def usage_totals(calls: list[AIUsage]) -> dict[str, Any]:
    """Tokens and cost of `calls`, by the field names the usage rows and their subjects share."""
    return {
        "input_tokens": sum(c.input_tokens for c in calls),
        "output_tokens": sum(c.output_tokens for c in calls),
        "cache_read_tokens": sum(c.cache_read_tokens for c in calls),
        "cache_write_tokens": sum(c.cache_write_tokens for c in calls),
        "cost_usd": sum((c.cost_usd for c in calls), Decimal("0")),
    }


def cache_read_share(calls: list[AIUsage]) -> float:
    """The share of the calls' input tokens read from the prompt cache (cache writes and uncached
    input are the rest); 0.0 when there was no input."""
    totals = usage_totals(calls)
    read = totals["cache_read_tokens"]
    everything = read + totals["input_tokens"] + totals["cache_write_tokens"]
    return read / everything if everything else 0.0


class _DeadlinePassed(Exception):
    """Raised inside the SDK's retry loop (it does not retry it) once the caller has stopped waiting."""


class _ProviderBusy(Exception):
    """Raised inside the SDK's retry loop (it does not retry it) when the provider, or another
    worker's 429/529, asks for a longer pause than this call can sit out."""

    def __init__(self, retry_after: float, status: int | None) -> None:
        self.retry_after = retry_after
        self.status = status
        super().__init__(f"provider busy for {retry_after:.1f}s")


@dataclass(frozen=True)
class Subject:
    """What a call is for (shown as cost per session, per walk, ...)."""

    type: str
    id: int


@dataclass
class AIRequest:
    action: str
    system: str
    messages: list[dict[str, Any]]
    schema: dict[str, Any] | None = None
    max_tokens: int = 1024
    cache_conversation: bool = False
    priority: str | None = None
    model: str = field(init=False)

    def __post_init__(self) -> None:
        self.model = model_for(self.action)
        self.priority = self.priority or ("background" if _background.get() else priority_for(self.action))


def ai_json(
    *,
    action: str,
    system: str,
    messages: list[dict[str, Any]] | str,
    schema: dict[str, Any],
    account,
    user=None,
    subject: Subject | None = None,
    max_tokens: int = 1024,
    cache_conversation: bool = False,
    within: float | None = None,
    priority: str | None = None,
) -> dict[str, Any]:
    """Ask for one JSON object matching `schema`. One corrective retry on an invalid object.
    `within` (seconds) shortens the overall deadline for a caller that cannot wait AI_DEADLINE.
    `priority` ("interactive" / "background") overrides the action's (tiers.priority_for)."""
    request = AIRequest(action, system, _as_messages(messages), schema, max_tokens, cache_conversation, priority)
    if settings.AI_MODE == "demo":
        return _demo_call(request, account=account, user=user, subject=subject)
    deadline = time.monotonic() + min(within or settings.AI_DEADLINE, settings.AI_DEADLINE)
    text, usage = _anthropic_call(request, account=account, user=user, subject=subject, deadline=deadline)
    try:
        return parse_json_object(text, request.schema)
    except ValueError as error:
        # `error` is unbound when the except block ends, so keep what it says.
        problem = str(error)
        logger.info("AI %s returned an invalid object, asking once more: %s", action, problem)
        _mark_invalid(usage, problem)
    corrective = AIRequest(
        action,
        system,
        request.messages
        + [
            # The API refuses a whitespace-only text block, so an empty reply is named instead.
            {"role": "assistant", "content": text if text.strip() else "(empty reply)"},
            {
                "role": "user",
                "content": (
                    "Your previous reply was not a valid JSON object for the required schema "
                    f"({_short(problem)}). Reply again with only the corrected JSON object."
                ),
            },
        ],
        schema,
        max_tokens,
        cache_conversation,
        request.priority,
    )
    text, usage = _anthropic_call(corrective, account=account, user=user, subject=subject, deadline=deadline)
    try:
        return parse_json_object(text, schema)
    except ValueError as second_error:
        _mark_invalid(usage, second_error)
        raise AIError("invalid_output", _short(str(second_error))) from None


def ai_text(
    *,
    action: str,
    system: str,
    messages: list[dict[str, Any]] | str,
    account,
    user=None,
    subject: Subject | None = None,
    max_tokens: int = 1024,
    cache_conversation: bool = False,
    within: float | None = None,
    priority: str | None = None,
) -> str:
    """Ask for free text (e.g. a markdown document)."""
    request = AIRequest(action, system, _as_messages(messages), None, max_tokens, cache_conversation, priority)
    if settings.AI_MODE == "demo":
        return _demo_call(request, account=account, user=user, subject=subject)
    deadline = time.monotonic() + min(within or settings.AI_DEADLINE, settings.AI_DEADLINE)
    text, usage = _anthropic_call(request, account=account, user=user, subject=subject, deadline=deadline)
    if not text.strip():
        _mark_invalid(usage, "empty reply")
        raise AIError("invalid_output", "empty reply")
    return text


# --- parsing -------------------------------------------------------------------

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def parse_json_object(text: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    """Tolerant parse: strips code fences and prose around one object; then checks the schema.
    Raises ValueError saying what is wrong."""
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1).strip()
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        start, end = candidate.find("{"), candidate.rfind("}")
        if start == -1 or end <= start:
            raise ValueError("no JSON object in the reply") from None
        try:
            value = json.loads(candidate[start : end + 1])
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ValueError("the reply is not a JSON object")
    if schema is not None:
        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            raise ValueError(f"schema mismatch at {where}: {error.message}")
    return value


# --- the Anthropic provider ----------------------------------------------------


def _client() -> anthropic.Anthropic:
    key = (
        settings.ANTHROPIC_API_KEY,
        settings.ANTHROPIC_BASE_URL,
        settings.AI_REQUEST_TIMEOUT,
        settings.AI_MAX_RETRIES,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = anthropic.Anthropic(
                api_key=settings.ANTHROPIC_API_KEY,
                base_url=settings.ANTHROPIC_BASE_URL,
                timeout=settings.AI_REQUEST_TIMEOUT,
                max_retries=settings.AI_MAX_RETRIES,
                middleware=[_within_deadline],
            )
            _clients[key] = client
        return client


def _within_deadline(request, call_next):
    """SDK middleware, run before every HTTP attempt (retries included). Once the caller has
    stopped waiting no attempt is sent, and no attempt may outlive the deadline: otherwise an
    abandoned call would keep retrying in the background, spending tokens no usage row records."""
    deadline = getattr(_call_budget, "deadline", None)
    if deadline is None:
        return call_next(request)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _DeadlinePassed
    if request.retries_taken:
        # A retry: another worker's 429 may have paused the deployment for longer than our SDK slept.
        _sit_out(budget.provider_paused_for(), deadline, status=None)
        remaining = deadline - time.monotonic()
    result = call_next(request.copy(timeout=min(_call_budget.request_timeout, remaining)))
    response = getattr(result, "http_response", None)
    status = getattr(response, "status_code", None)
    given = _retry_after_header(response.headers) if status in (429, 529) else None
    if given:
        # Every worker holds back as long as the provider asks (shared in Redis), not just this one;
        # without a retry-after the SDK's own backoff is all there is.
        pause = budget.provider_pause(given)
        if pause > settings.AI_PROVIDER_MAX_INLINE_WAIT or pause >= deadline - time.monotonic():
            response.close()
            raise _ProviderBusy(pause, status)
    return result


def _sit_out(pause: float, deadline: float, *, status: int | None) -> None:
    """Wait out a short provider pause; a long one (or one past the deadline) ends the call as busy."""
    if pause <= 0:
        return
    if pause > settings.AI_PROVIDER_MAX_INLINE_WAIT or pause >= deadline - time.monotonic():
        raise _ProviderBusy(pause, status)
    time.sleep(pause)


def _retry_after_header(headers) -> float | None:
    """The provider's retry-after (`retry-after-ms`, else `retry-after` in seconds), if it gave one,
    at most AI_PROVIDER_MAX_PAUSE: it pauses every account, so "inf" or a year (a broken proxy)
    must not stop the deployment for that long."""
    for name, scale in (("retry-after-ms", 1000), ("retry-after", 1)):
        try:
            value = float(headers.get(name, ""))
        except (TypeError, ValueError):
            continue
        if value > 0:  # "nan" is not
            return min(value / scale, settings.AI_PROVIDER_MAX_PAUSE)
    return None


def _send(client: anthropic.Anthropic, params: dict[str, Any], *, deadline: float, request_timeout: float):
    """Runs on an executor thread: the SDK call, bounded by the caller's deadline."""
    _call_budget.deadline, _call_budget.request_timeout = deadline, request_timeout
    try:
        return client.messages.create(**params)
    finally:
        _call_budget.deadline = None


def build_params(request: AIRequest) -> dict[str, Any]:
    """The Messages API parameters for a request (public so tests can read what is sent)."""
    system_block: dict[str, Any] = {"type": "text", "text": request.system}
    if len(request.system) >= CACHE_MIN_CHARS:
        system_block["cache_control"] = {"type": "ephemeral"}
    messages = request.messages
    if request.cache_conversation and messages:
        messages = _mark_last_message_for_cache(messages)
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "system": [system_block],
        "messages": messages,
    }
    if request.schema is not None:
        params["output_config"] = {"format": {"type": "json_schema", "schema": wire_schema(request.schema)}}
    return params


# Structured outputs accept a subset of JSON Schema: numeric and string bounds are refused by the
# API, so they are sent without them; the reply is still validated locally against the full schema.
_UNSUPPORTED_KEYWORDS = frozenset(
    {"minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "maxItems"}
)


def wire_schema(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: wire_schema(v) for k, v in schema.items() if k not in _UNSUPPORTED_KEYWORDS}
    if isinstance(schema, list):
        return [wire_schema(v) for v in schema]
    return schema


def _anthropic_call(request: AIRequest, *, account, user, subject, deadline: float) -> tuple[str, AIUsage]:
    params = build_params(request)
    if deadline - time.monotonic() <= 0:
        started = time.monotonic()
        _record(request, account, user, subject, started, outcome="timeout", error="deadline passed before the call")
        raise AIError("timeout", "deadline passed before the call")
    slot = _take_slot(request, account, deadline)
    try:
        return _provider_call(request, params, account=account, user=user, subject=subject, deadline=deadline)
    finally:
        budget.release(slot)


def _take_slot(request: AIRequest, account, deadline: float) -> budget.Slot:
    """A slot of the account's budget for the request's priority. A live call waits for one up to
    AI_BUDGET_WAIT, background work up to AI_BUDGET_BACKGROUND_WAIT (within the call's deadline);
    then it is told when to retry. Only a call that waited or was refused writes a row (AIThrottle)."""
    priority = budget.Priority(request.priority)
    most = settings.AI_BUDGET_WAIT if priority is budget.Priority.INTERACTIVE else settings.AI_BUDGET_BACKGROUND_WAIT
    wait = min(most, max(0.0, deadline - time.monotonic() - 1.0))
    try:
        slot = budget.acquire(account=account, priority=priority, wait=wait)
    except budget.Busy as busy:
        retry_after = math.ceil(busy.retry_after)
        _throttled(request, account, busy.reason, AIThrottle.Outcome.TOLD_TO_WAIT, busy.waited, retry_after)
        raise AIError("busy", f"{busy.reason} budget", retry_after=retry_after) from None
    if slot.waited >= 0.001 and slot.reason is not None:
        try:
            _throttled(request, account, slot.reason, AIThrottle.Outcome.WAITED, slot.waited, None)
        except BaseException:  # a soft time limit, the database: the slot is not kept until it expires
            budget.release(slot)
            raise
    return slot


def _throttled(request: AIRequest, account, reason, outcome, waited: float, retry_after: int | None) -> None:
    AIThrottle.objects.create(
        account=account,
        action=request.action,
        priority=request.priority,
        reason=str(reason),
        outcome=outcome,
        waited_ms=int(waited * 1000),
        retry_after_s=retry_after,
    )


def _provider_call(request: AIRequest, params, *, account, user, subject, deadline: float) -> tuple[str, AIUsage]:
    remaining = deadline - time.monotonic()
    started = time.monotonic()
    usage_fields: dict[str, Any] = {}
    try:
        future = _executor.submit(
            _send, _client(), params, deadline=deadline, request_timeout=settings.AI_REQUEST_TIMEOUT
        )
        try:
            message = future.result(timeout=remaining)
        except (concurrent.futures.TimeoutError, _DeadlinePassed):
            future.cancel()
            raise AIError("timeout", f"no answer within {deadline - started:.3g}s") from None
        except _ProviderBusy as busy:
            retry_after = max(1, math.ceil(busy.retry_after))
            _throttled(request, account, "provider", AIThrottle.Outcome.TOLD_TO_WAIT, 0, retry_after)
            error = AIError("busy", f"provider asked for {retry_after}s", retry_after=retry_after)
            # The usage row keeps what the provider said (the outer handler records it).
            error.outcome = AIUsage.Outcome.OVERLOADED if busy.status == 529 else AIUsage.Outcome.RATE_LIMITED
            raise error from None
        usage_fields = _usage_fields(message.usage)
        if message.stop_reason == "max_tokens":
            raise AIError("truncated", f"stopped at max_tokens={request.max_tokens}")
        if message.stop_reason == "refusal":
            raise AIError("refused")
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
    except AIError as exc:
        outcome = getattr(exc, "outcome", exc.kind)
        _record(request, account, user, subject, started, outcome=outcome, error=exc.detail, **usage_fields)
        raise
    except anthropic.AnthropicError as exc:
        error = _translate(exc)
        _record(request, account, user, subject, started, outcome=_outcome_of(exc, error), error=error.detail)
        if error.busy:
            _throttled(request, account, "provider", AIThrottle.Outcome.TOLD_TO_WAIT, 0, error.retry_after)
        raise error from exc
    usage = _record(request, account, user, subject, started, outcome=AIUsage.Outcome.OK, **usage_fields)
    return text, usage


def _translate(exc: anthropic.AnthropicError) -> AIError:
    if isinstance(exc, anthropic.APITimeoutError):
        return AIError("timeout", "request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return AIError("connection", exc.__class__.__name__)
    status = getattr(exc, "status_code", None)
    if status in (429, 529):
        # The SDK's retries are spent: the caller is told when to try again (the pause is shared).
        response = getattr(exc, "response", None)
        given = _retry_after_header(response.headers) if response is not None else None
        pause = max(given or settings.AI_PROVIDER_PAUSE_DEFAULT, budget.provider_paused_for())
        return AIError("busy", f"HTTP {status}", retry_after=max(1, math.ceil(pause)))
    return AIError("api_error", f"HTTP {status}" if status else exc.__class__.__name__)


def _outcome_of(exc: anthropic.AnthropicError, error: AIError) -> str:
    """The usage row keeps what the provider said (rate limited / overloaded), not just "busy"."""
    status = getattr(exc, "status_code", None)
    if status == 429:
        return AIUsage.Outcome.RATE_LIMITED
    if status == 529:
        return AIUsage.Outcome.OVERLOADED
    return error.kind


def _usage_fields(usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens or 0,
        "output_tokens": usage.output_tokens or 0,
        "cache_read_tokens": usage.cache_read_input_tokens or 0,
        "cache_write_tokens": usage.cache_creation_input_tokens or 0,
    }


def cost_usd(model: str, *, input_tokens=0, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0) -> Decimal:
    prices = settings.AI_PRICES.get(model)
    if prices is None:
        return Decimal("0")
    total = (
        input_tokens * prices["input"]
        + output_tokens * prices["output"]
        + cache_read_tokens * prices["cache_read"]
        + cache_write_tokens * prices["cache_write"]
    )
    return (total / Decimal(1_000_000)).quantize(Decimal("0.000001"))


def _record(
    request: AIRequest,
    account,
    user,
    subject,
    started: float,
    *,
    outcome: str,
    error: str = "",
    provider: str = "anthropic",
    model: str | None = None,
    **tokens,
) -> AIUsage:
    model = model or request.model
    usage = AIUsage.objects.create(
        account=account,
        user=user if getattr(user, "pk", None) else None,
        action=request.action,
        tier=tier_for(request.action),
        model=model,
        provider=provider,
        outcome=outcome,
        error=error[:300],
        latency_ms=int((time.monotonic() - started) * 1000),
        cost_usd=cost_usd(model, **tokens),
        subject_type=subject.type if subject else "",
        subject_id=subject.id if subject else None,
        **tokens,
    )
    for calls in _collectors.get():
        calls.append(usage)
    usage_recorded.send(sender=AIUsage, usage=usage)
    return usage


def _mark_invalid(usage: AIUsage, error: Exception | str) -> None:
    usage.outcome = AIUsage.Outcome.INVALID_OUTPUT
    usage.error = str(error)[:300]
    usage.save(update_fields=["outcome", "error"])


# --- the demo provider ------------------------------------------------------------


def _demo_call(request: AIRequest, *, account, user, subject):
    started = time.monotonic()
    reply = demo.respond(request)
    if request.schema is not None:
        try:
            reply = parse_json_object(json.dumps(reply), request.schema)
        except ValueError as error:
            # A demo responder out of step with its schema: surface it like any unreadable answer.
            _record(
                request,
                account,
                user,
                subject,
                started,
                outcome=AIUsage.Outcome.INVALID_OUTPUT,
                error=str(error),
                provider="demo",
                model="demo",
            )
            raise AIError("invalid_output", _short(str(error))) from None
    _record(request, account, user, subject, started, outcome=AIUsage.Outcome.OK, provider="demo", model="demo")
    return reply


# --- helpers ------------------------------------------------------------------------


def _as_messages(messages: list[dict[str, Any]] | str) -> list[dict[str, Any]]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


def _mark_last_message_for_cache(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = dict(messages[-1])
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
    blocks[-1]["cache_control"] = {"type": "ephemeral"}
    last["content"] = blocks
    return [*messages[:-1], last]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
