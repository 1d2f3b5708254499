"""Fair use of the AI provider across accounts (issue 17).

The provider's rate limit is per organisation, shared by every account of a deployment, so each
account gets a budget, per priority:

- **concurrency**: a semaphore of expiring leases (a sorted set of lease id -> expiry). A worker
  that dies holding a slot frees it when the lease expires (AI_BUDGET_LEASE_SECONDS; a call never
  outlives AI_DEADLINE, so a lease never expires under a live call);
- **rate**: a token bucket (calls per minute, a burst of ten seconds' worth).

Live work ("interactive": a session turn, a preview the engineer waits on, an L1 node) and
background work (flywheel analysis, handoff assessments) have separate budgets, so background
work can never take the live share. A 429/529 from the provider pauses every account and every
worker for the provider's retry-after (a key with that expiry), so the deployment slows down as one.

On Redis, taking a slot is one script (the pause, the semaphore and the bucket checked and taken
atomically) and giving it back one ZREM: two round-trips per call when nothing waits. Without
Redis (a laptop, SQLite) the same rules hold within the process.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import redis
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


class Priority(StrEnum):
    INTERACTIVE = "interactive"
    BACKGROUND = "background"


class Refusal(StrEnum):
    """Why a slot was not given."""

    CONCURRENCY = "concurrency"
    RATE = "rate"
    PROVIDER = "provider"


@dataclass(frozen=True)
class Limits:
    concurrency: int
    per_minute: int

    @property
    def capacity(self) -> float:
        """The bucket's size: ten seconds' worth of calls, at least one (and the concurrency)."""
        return float(max(1, self.concurrency, math.ceil(self.per_minute / 6)))

    @property
    def tokens_per_ms(self) -> float:
        return self.per_minute / 60_000


@dataclass(frozen=True)
class Decision:
    granted: bool
    lease: str = ""
    wait_ms: int = 0  # when refused: how long before asking again makes sense (0: unknown)
    reason: Refusal | None = None


def limits_for(account, priority: Priority) -> Limits:
    """The account's budget for `priority`: settings, raised or lowered per account slug by
    AI_BUDGET_OVERRIDES (e.g. {"bigcorp": {"interactive_concurrency": 20}})."""
    name = priority.value
    override = settings.AI_BUDGET_OVERRIDES.get(getattr(account, "slug", ""), {}) or {}
    return Limits(
        concurrency=int(
            override.get(f"{name}_concurrency", getattr(settings, f"AI_BUDGET_{name.upper()}_CONCURRENCY"))
        ),
        per_minute=int(override.get(f"{name}_per_minute", getattr(settings, f"AI_BUDGET_{name.upper()}_PER_MINUTE"))),
    )


# --- Redis --------------------------------------------------------------------------------

PREFIX = "ai:budget"
PAUSE_KEY = f"{PREFIX}:provider_pause"

# KEYS: leases (zset), bucket (hash), pause. ARGV: lease id, concurrency, lease ms, tokens per ms, capacity.
# Returns {1, lease id} or {0, wait ms, reason}. Time is the server's, one clock for every worker.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = redis.call('PTTL', KEYS[3])
if pause > 0 then return {0, pause, 'provider'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return {0, 0, 'concurrency'}
end
local rate = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local bucket = redis.call('HMGET', KEYS[2], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or cap
local ts = tonumber(bucket[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
if tokens < 1 then
  return {0, math.ceil((1 - tokens) / rate), 'rate'}
end
redis.call('HSET', KEYS[2], 'tokens', tostring(tokens - 1), 'ts', now)
redis.call('PEXPIRE', KEYS[2], math.ceil(cap / rate) + 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 1000)
return {1, ARGV[1]}
"""

# KEYS: pause. ARGV: ms. The longest pause asked for wins.
_PAUSE = """
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  return tonumber(ARGV[1])
end
return left
"""

# KEYS: the two lease sets. Returns the count of live leases in each.
_IN_USE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  out[i] = redis.call('ZCARD', key)
end
return out
"""


def _keys(account_id: int, priority: Priority) -> tuple[str, str]:
    return f"{PREFIX}:{account_id}:{priority}:leases", f"{PREFIX}:{account_id}:{priority}:bucket"


class RedisBudget:
    def __init__(self, client) -> None:
        self.client = client
        self._acquire = client.register_script(_ACQUIRE)
        self._pause = client.register_script(_PAUSE)
        self._in_use = client.register_script(_IN_USE)

    def try_acquire(self, account_id: int, priority: Priority, limits: Limits, lease_seconds: float) -> Decision:
        lease = uuid.uuid4().hex
        leases, bucket = _keys(account_id, priority)
        answer = self._acquire(
            keys=[leases, bucket, PAUSE_KEY],
            args=[lease, limits.concurrency, int(lease_seconds * 1000), repr(limits.tokens_per_ms), limits.capacity],
        )
        if int(answer[0]) == 1:
            return Decision(True, lease=lease)
        reason = answer[2].decode() if isinstance(answer[2], bytes) else answer[2]
        return Decision(False, wait_ms=int(answer[1]), reason=Refusal(reason))

    def release(self, account_id: int, priority: Priority, lease: str) -> None:
        self.client.zrem(_keys(account_id, priority)[0], lease)

    def pause(self, seconds: float) -> float:
        return int(self._pause(keys=[PAUSE_KEY], args=[max(1, int(seconds * 1000))])) / 1000

    def paused_for(self) -> float:
        left = self.client.pttl(PAUSE_KEY)
        return left / 1000 if left and left > 0 else 0.0

    def in_use(self, account_id: int) -> dict[str, int]:
        keys = [_keys(account_id, p)[0] for p in Priority]
        counts = self._in_use(keys=keys)
        return {p.value: int(c) for p, c in zip(Priority, counts, strict=True)}

    def clear(self) -> None:
        for key in self.client.scan_iter(f"{PREFIX}:*"):
            self.client.delete(key)


# --- one process (no Redis) -------------------------------------------------------------------


class LocalBudget:
    """The same rules within one process (a laptop without Redis: runserver and eager tasks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[tuple[int, Priority], dict[str, float]] = {}
        self._buckets: dict[tuple[int, Priority], tuple[float, float]] = {}
        self._pause_until = 0.0

    def try_acquire(self, account_id: int, priority: Priority, limits: Limits, lease_seconds: float) -> Decision:
        now = time.monotonic()
        with self._lock:
            if self._pause_until > now:
                return Decision(False, wait_ms=math.ceil((self._pause_until - now) * 1000), reason=Refusal.PROVIDER)
            leases = self._leases.setdefault((account_id, priority), {})
            for lease, expiry in list(leases.items()):
                if expiry <= now:
                    del leases[lease]
            if len(leases) >= limits.concurrency:
                return Decision(False, reason=Refusal.CONCURRENCY)
            tokens, ts = self._buckets.get((account_id, priority), (limits.capacity, now))
            tokens = min(limits.capacity, tokens + (now - ts) * 1000 * limits.tokens_per_ms)
            if tokens < 1:
                return Decision(False, wait_ms=math.ceil((1 - tokens) / limits.tokens_per_ms), reason=Refusal.RATE)
            self._buckets[(account_id, priority)] = (tokens - 1, now)
            lease = uuid.uuid4().hex
            leases[lease] = now + lease_seconds
            return Decision(True, lease=lease)

    def release(self, account_id: int, priority: Priority, lease: str) -> None:
        with self._lock:
            self._leases.get((account_id, priority), {}).pop(lease, None)

    def pause(self, seconds: float) -> float:
        with self._lock:
            self._pause_until = max(self._pause_until, time.monotonic() + seconds)
            return self._pause_until - time.monotonic()

    def paused_for(self) -> float:
        return max(0.0, self._pause_until - time.monotonic())

    def in_use(self, account_id: int) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            return {
                p.value: sum(1 for e in self._leases.get((account_id, p), {}).values() if e > now) for p in Priority
            }

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()
            self._buckets.clear()
            self._pause_until = 0.0


_backends: dict[str, RedisBudget | LocalBudget] = {}
_backends_lock = threading.Lock()


def backend() -> RedisBudget | LocalBudget:
    """Redis when the cache is Redis (the cache's own client and pool), else this process's."""
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    with _backends_lock:
        found = _backends.get(location)
        if found is None:
            raw = getattr(cache, "_cache", None)
            if raw is not None and hasattr(raw, "get_client") and location.startswith(("redis://", "rediss://")):
                found = RedisBudget(raw.get_client(write=True))
            else:
                found = LocalBudget()
            _backends[location] = found
        return found


# --- waiting for a slot -----------------------------------------------------------------------


class Busy(Exception):
    """No slot now: try again in `retry_after` seconds (the account's budget or the provider's pause)."""

    def __init__(self, retry_after: float, reason: Refusal, waited: float) -> None:
        self.retry_after = retry_after
        self.reason = reason
        self.waited = waited
        super().__init__(f"{reason}: retry after {retry_after:.1f}s")


@dataclass
class Slot:
    account_id: int
    priority: Priority
    lease: str
    waited: float  # seconds spent waiting for it
    reason: Refusal | None  # why it had to wait (None: it did not)


POLL_MIN, POLL_MAX = 0.02, 0.25


def acquire(*, account, priority: Priority, wait: float) -> Slot:
    """A slot of the account's `priority` budget, waiting up to `wait` seconds; raises Busy after.
    One round-trip when a slot is free; while waiting, one per poll (20 ms growing to 250 ms, or
    the bucket's or the pause's own time when it is known)."""
    store = backend()
    limits = limits_for(account, priority)
    # Never shorter than a call can run (AI_DEADLINE bounds the wait, the SDK's retries and the call),
    # whatever AI_BUDGET_LEASE_SECONDS says: a lease expiring under a live call gives its slot twice.
    lease_seconds = max(settings.AI_BUDGET_LEASE_SECONDS, settings.AI_DEADLINE + 1)
    if limits.per_minute <= 0:  # an account given no calls (a rate of 0 would divide by zero in the bucket)
        raise Busy(_retry_after(priority), Refusal.RATE, 0.0)
    started = time.monotonic()
    give_up = started + max(0.0, wait)
    poll = POLL_MIN
    first_reason: Refusal | None = None
    while True:
        try:
            decision = store.try_acquire(account.pk, priority, limits, lease_seconds)
        except redis.RedisError as exc:
            # Redis unreachable: the AI is not held hostage by the budget's store (fail open).
            logger.warning("AI budget unavailable (%s): the call goes ahead unmetered", exc.__class__.__name__)
            return Slot(account.pk, priority, "", time.monotonic() - started, first_reason)
        now = time.monotonic()
        if decision.granted:
            return Slot(account.pk, priority, decision.lease, now - started, first_reason)
        first_reason = first_reason or decision.reason
        pause = decision.wait_ms / 1000 if decision.wait_ms else poll * (0.5 + random.random())  # noqa: S311
        if now + pause > give_up:
            retry_after = decision.wait_ms / 1000 if decision.wait_ms else _retry_after(priority)
            raise Busy(max(retry_after, 1.0), decision.reason, now - started)
        time.sleep(pause)
        poll = min(POLL_MAX, poll * 1.5)


def _retry_after(priority: Priority) -> float:
    """When nothing better is known (the account's slots are all taken)."""
    return settings.AI_BUDGET_BACKGROUND_RETRY if priority is Priority.BACKGROUND else 3.0


def forget_local() -> None:
    """Empty every process-local budget (tests: each starts with a fresh one)."""
    with _backends_lock:
        for found in _backends.values():
            if isinstance(found, LocalBudget):
                found.clear()


def release(slot: Slot) -> None:
    if not slot.lease:
        return  # taken while the store was unreachable
    try:
        backend().release(slot.account_id, slot.priority, slot.lease)
    except redis.RedisError as exc:  # the lease expires by itself
        logger.warning("AI budget slot not given back (%s): it expires by itself", exc.__class__.__name__)


def provider_pause(seconds: float) -> float:
    """Every worker holds back for `seconds` (the provider's retry-after); the longest pause wins."""
    try:
        return backend().pause(seconds)
    except redis.RedisError:
        return seconds  # this worker at least honours it


def provider_paused_for() -> float:
    try:
        return backend().paused_for()
    except redis.RedisError:
        return 0.0


def in_use(account_id: int) -> dict[str, int]:
    return backend().in_use(account_id)
