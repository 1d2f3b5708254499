"""The per-account AI budget (issue 17): a semaphore of expiring leases and a token bucket, in
Redis (and the same rules in one process without it); the provider's pause shared by all."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings

from resolutionflow.ai import budget
from resolutionflow.ai.budget import Limits, LocalBudget, Priority, RedisBudget
from resolutionflow.ai.client import ai_json, background_work
from resolutionflow.ai.errors import AIError
from resolutionflow.ai.fake_api import Reply
from resolutionflow.ai.models import AIThrottle, AIUsage

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[3]
SCHEMA = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}


def _redis_store() -> RedisBudget:
    store = budget.backend()
    if not isinstance(store, RedisBudget):
        pytest.skip("needs Redis (run with .ci/services.sh or make test)")
    return store


@pytest.fixture(params=["redis", "local"])
def store(request):
    if request.param == "redis":
        return _redis_store()
    return LocalBudget()


@pytest.fixture(autouse=True)
def _answers_ok(request):
    if "fake_anthropic" in request.fixturenames:
        request.getfixturevalue("fake_anthropic").set_responder(lambda body: {"status": "ok"})


def ask(account, *, action="session_turn", **kw):
    return ai_json(action=action, system="Reply with JSON.", messages="Hi", schema=SCHEMA, account=account, **kw)


# --- the two rules, on both backends --------------------------------------------------------


def test_the_semaphore_gives_at_most_the_concurrency(store):
    limits = Limits(concurrency=3, per_minute=6000)
    granted = [store.try_acquire(1, Priority.INTERACTIVE, limits, 30) for _ in range(5)]

    assert [d.granted for d in granted] == [True, True, True, False, False]
    assert granted[3].reason == "concurrency"
    store.release(1, Priority.INTERACTIVE, granted[0].lease)
    assert store.try_acquire(1, Priority.INTERACTIVE, limits, 30).granted
    assert store.in_use(1) == {"interactive": 3, "background": 0}


def test_accounts_and_priorities_do_not_share_slots(store):
    limits = Limits(concurrency=1, per_minute=6000)
    assert store.try_acquire(1, Priority.INTERACTIVE, limits, 30).granted
    assert not store.try_acquire(1, Priority.INTERACTIVE, limits, 30).granted
    # Another account, and the same account's background share, are untouched.
    assert store.try_acquire(2, Priority.INTERACTIVE, limits, 30).granted
    assert store.try_acquire(1, Priority.BACKGROUND, limits, 30).granted


def test_a_lease_expires_by_itself(store):
    limits = Limits(concurrency=1, per_minute=6000)
    assert store.try_acquire(1, Priority.BACKGROUND, limits, 0.2).granted  # never released
    assert not store.try_acquire(1, Priority.BACKGROUND, limits, 0.2).granted
    time.sleep(0.25)
    assert store.try_acquire(1, Priority.BACKGROUND, limits, 0.2).granted


def test_the_token_bucket_limits_the_rate_and_says_when_to_come_back(store):
    limits = Limits(concurrency=100, per_minute=600)  # 10 a second, a burst of 100
    granted = 0
    for _ in range(int(limits.capacity) + 1):
        decision = store.try_acquire(1, Priority.INTERACTIVE, limits, 30)
        granted += decision.granted
        if decision.granted:
            store.release(1, Priority.INTERACTIVE, decision.lease)
    assert granted == int(limits.capacity)
    assert decision.reason == "rate" and 0 < decision.wait_ms <= 100
    time.sleep(decision.wait_ms / 1000 + 0.02)
    assert store.try_acquire(1, Priority.INTERACTIVE, limits, 30).granted


def test_the_provider_pause_holds_everyone_and_the_longest_wins(store):
    limits = Limits(concurrency=5, per_minute=6000)
    store.pause(0.3)
    store.pause(0.1)  # a shorter pause asked later does not shorten it

    refused = store.try_acquire(7, Priority.INTERACTIVE, limits, 30)
    assert refused.reason == "provider" and 200 < refused.wait_ms <= 300
    time.sleep(0.32)
    assert store.try_acquire(7, Priority.INTERACTIVE, limits, 30).granted


def test_per_account_overrides_raise_a_large_customer(settings, tenant_a, tenant_b):
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 2
    settings.AI_BUDGET_OVERRIDES = {tenant_a.account.slug: {"interactive_concurrency": 20, "background_per_minute": 5}}

    assert budget.limits_for(tenant_a.account, Priority.INTERACTIVE).concurrency == 20
    assert budget.limits_for(tenant_a.account, Priority.BACKGROUND).per_minute == 5
    assert budget.limits_for(tenant_b.account, Priority.INTERACTIVE).concurrency == 2


# --- through the AI door ------------------------------------------------------------------


def _count_redis_round_trips(monkeypatch) -> list[str]:
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counted(self, *args, **options):
        sent.append(str(args[0]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return sent


def test_an_ai_call_costs_two_redis_round_trips_and_one_query(
    fake_anthropic, tenant_a, monkeypatch, django_assert_num_queries
):
    _redis_store()
    ask(tenant_a.account)  # the script is loaded once per Redis; not what is measured
    sent = _count_redis_round_trips(monkeypatch)

    for _ in range(3):
        with django_assert_num_queries(1):  # the usage row
            ask(tenant_a.account)

    assert sent == ["EVALSHA", "ZREM"] * 3


def test_a_live_call_waits_for_a_slot_and_the_wait_is_recorded(fake_anthropic, settings, tenant_a):
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 1
    held = budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0)

    threading.Timer(0.3, budget.release, args=[held]).start()
    started = time.monotonic()
    assert ask(tenant_a.account) == {"status": "ok"}
    assert time.monotonic() - started >= 0.25

    throttle = AIThrottle.objects.get()
    assert (throttle.reason, throttle.outcome, throttle.priority) == ("concurrency", "waited", "interactive")
    assert throttle.waited_ms >= 250 and throttle.account == tenant_a.account


def test_a_live_call_past_its_wait_is_told_when_to_retry_and_nothing_is_sent(fake_anthropic, settings, tenant_a):
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 1
    settings.AI_BUDGET_WAIT = 0.2
    budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0)

    with pytest.raises(AIError) as caught:
        ask(tenant_a.account)

    assert caught.value.kind == "busy" and caught.value.retry_after >= 1
    assert "The AI is busy right now. Nothing you entered was lost. You can try again in" in caught.value.message
    assert fake_anthropic.received == 0 and not AIUsage.objects.exists()
    assert AIThrottle.objects.get().outcome == "told_to_wait"


def test_background_work_is_told_to_retry_and_never_takes_the_live_share(fake_anthropic, settings, tenant_a):
    settings.AI_BUDGET_BACKGROUND_CONCURRENCY = 1
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 1
    settings.AI_BUDGET_BACKGROUND_RETRY = 12
    settings.AI_BUDGET_BACKGROUND_WAIT = 0.1
    budget.acquire(account=tenant_a.account, priority=Priority.BACKGROUND, wait=0)

    started = time.monotonic()
    with pytest.raises(AIError) as caught:
        ask(tenant_a.account, action="flywheel_analysis")
    assert time.monotonic() - started < 0.3
    assert caught.value.kind == "busy" and caught.value.retry_after == 12

    # The live share is whole: a turn runs at once.
    assert ask(tenant_a.account) == {"status": "ok"}
    assert fake_anthropic.received == 1


def test_a_429_with_a_long_retry_after_ends_as_busy_and_pauses_the_next_call(fake_anthropic, settings, tenant_a):
    settings.AI_PROVIDER_MAX_INLINE_WAIT = 0.5
    settings.AI_BUDGET_WAIT = 0.2
    fake_anthropic.enqueue(Reply.error(429, retry_after=3))

    with pytest.raises(AIError) as caught:
        ask(tenant_a.account)
    assert caught.value.kind == "busy" and caught.value.retry_after == 3
    assert fake_anthropic.received == 1, "no SDK retry hammered the provider during its pause"
    assert AIUsage.objects.get().outcome == "rate_limited"

    # Any account, any call, during the pause: told to wait, nothing sent.
    with pytest.raises(AIError) as again:
        ask(tenant_a.account, action="session_classify")
    assert again.value.kind == "busy" and 2 <= again.value.retry_after <= 3
    assert fake_anthropic.received == 1
    assert 2 < budget.provider_paused_for() <= 3


def test_a_short_pause_is_sat_out_by_a_live_call(fake_anthropic, settings, tenant_a, tenant_b):
    budget.provider_pause(0.4)
    started = time.monotonic()
    ask(tenant_b.account)
    assert time.monotonic() - started >= 0.35
    assert AIThrottle.objects.get(account=tenant_b.account).reason == "provider"


# --- a worker killed holding a slot -----------------------------------------------------------


def test_a_process_killed_while_holding_a_slot_frees_it_by_expiry(settings, tenant_a):
    """Another process takes the account's only slot and is SIGKILLed (no finally, no release): the
    slot is taken until its lease expires, then free again."""
    _redis_store()
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 1
    lease = 1.5
    code = (
        "import django, sys, time; django.setup();"
        "from types import SimpleNamespace;"
        "from resolutionflow.ai import budget;"
        f"budget.acquire(account=SimpleNamespace(pk={tenant_a.account.pk}, slug='x'),"
        " priority=budget.Priority.INTERACTIVE, wait=0);"
        "print('held', flush=True); time.sleep(60)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "resolutionflow.settings",
        "REDIS_CACHE_URL": django_settings.CACHES["default"]["LOCATION"],
        "AI_BUDGET_INTERACTIVE_CONCURRENCY": "1",
        "AI_BUDGET_LEASE_SECONDS": str(lease),
        "AI_DEADLINE": "0.5",  # a lease is never shorter than the deadline (plus 1 s)
    }
    child = subprocess.Popen([sys.executable, "-c", code], cwd=BASE_DIR, env=env, stdout=subprocess.PIPE)  # noqa: S603
    try:
        assert child.stdout.readline().strip() == b"held"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=5)
        killed_at = time.monotonic()
        assert budget.in_use(tenant_a.account.pk)["interactive"] == 1
        with pytest.raises(budget.Busy):
            budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0)

        slot = budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=lease + 1)
        assert time.monotonic() - killed_at <= lease + 0.5
        budget.release(slot)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_without_its_redis_the_budget_lets_calls_through(fake_anthropic, settings, tenant_a):
    """The budget's store unreachable (cache on a closed port): AI calls go ahead unmetered rather
    than fail; the provider's pause then holds only in this worker."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }

    assert ask(tenant_a.account) == {"status": "ok"}
    assert budget.provider_paused_for() == 0.0
    assert not AIThrottle.objects.exists()


def test_calls_inside_background_work_use_the_background_budget(fake_anthropic, settings, tenant_a):
    settings.AI_BUDGET_BACKGROUND_WAIT = 0.05
    settings.AI_BUDGET_BACKGROUND_CONCURRENCY = 1
    budget.acquire(account=tenant_a.account, priority=Priority.BACKGROUND, wait=0)

    with background_work(), pytest.raises(AIError) as caught:
        ask(tenant_a.account, action="resolution_note")  # a live action, drafted by a periodic task

    assert caught.value.kind == "busy"
    assert AIThrottle.objects.get().priority == "background"
    assert ask(tenant_a.account, action="resolution_note") == {"status": "ok"}  # in a request: live


@pytest.mark.parametrize("given", ["inf", "1e12", "999999999"])
def test_a_huge_or_malformed_retry_after_is_capped_and_never_pauses_the_deployment_for_long(
    fake_anthropic, settings, tenant_a, given
):
    """A provider (or a proxy in front of it) answering 429 with retry-after "inf" or a year must
    neither crash the call nor pause every account for that long: the pause is capped."""
    settings.AI_PROVIDER_MAX_INLINE_WAIT = 0.5
    settings.AI_PROVIDER_MAX_PAUSE = 60
    fake_anthropic.enqueue(Reply.error(429, retry_after=given))

    with pytest.raises(AIError) as caught:
        ask(tenant_a.account)

    assert caught.value.kind == "busy" and 1 <= caught.value.retry_after <= 60
    assert 0 < budget.provider_paused_for() <= 60
    assert AIThrottle.objects.get().retry_after_s <= 60


def test_a_lease_never_expires_under_a_call_however_the_deadline_is_configured(settings, tenant_a):
    """.env.example sets AI_BUDGET_LEASE_SECONDS=105 for AI_DEADLINE=90: an operator who raises the
    deadline alone must not get leases that expire while their calls still run (the slot would be
    given again: more calls at once than the concurrency)."""
    store = _redis_store()
    settings.AI_DEADLINE = 200.0
    settings.AI_BUDGET_LEASE_SECONDS = 105.0

    slot = budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0)

    leases, _ = budget._keys(tenant_a.account.pk, Priority.INTERACTIVE)
    seconds, micros = store.client.time()
    now_ms = seconds * 1000 + micros // 1000
    assert store.client.zscore(leases, slot.lease) - now_ms >= 200_000


def test_a_call_that_fails_recording_its_wait_gives_its_slot_back(fake_anthropic, settings, tenant_a, monkeypatch):
    """Between taking the slot and the call, the waited call writes its AIThrottle row: a failure
    there (a task's soft time limit, the database) must not keep the slot until its lease expires."""
    settings.AI_BUDGET_INTERACTIVE_CONCURRENCY = 1
    held = budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0)
    threading.Timer(0.1, budget.release, args=[held]).start()

    class Interrupted(Exception):
        pass

    def refuse(**fields):
        raise Interrupted

    monkeypatch.setattr(AIThrottle.objects, "create", refuse)
    with pytest.raises(Interrupted):
        ask(tenant_a.account)

    assert budget.in_use(tenant_a.account.pk)["interactive"] == 0


@pytest.mark.parametrize("name", ["background_per_minute", "background_concurrency"])
def test_an_account_overridden_to_zero_gets_no_background_call_and_nothing_crashes(settings, tenant_a, name):
    """An owner stops an account's background AI with an override of 0: every call is told to wait
    (a rate of 0 divided by zero: the Redis script failed, and the call went ahead unmetered)."""
    settings.AI_BUDGET_OVERRIDES = {tenant_a.account.slug: {name: 0}}
    for _ in range(3):
        with pytest.raises(budget.Busy):
            budget.acquire(account=tenant_a.account, priority=Priority.BACKGROUND, wait=0)
    assert budget.in_use(tenant_a.account.pk) == {"interactive": 0, "background": 0}
    budget.release(budget.acquire(account=tenant_a.account, priority=Priority.INTERACTIVE, wait=0))
