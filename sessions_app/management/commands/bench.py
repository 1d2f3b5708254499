"""`manage.py bench` (run by `make bench` on throwaway PostgreSQL + Redis): latency and cost of the
hot paths, reported as ratios measured in one run so the numbers compare across machines.

In process (Django's test client):
- AI door vs a bare SDK call, both against the fake Messages API with a fixed latency;
- the session page with 3 steps vs 30 steps (it should cost the same: fixed queries);
- the analytics page computed afresh with 10,000 sessions vs 100 (<= x3);
- an answer + AI turn (demo provider) vs the session page;
- flow matching over 10 vs 300 published flows; a preview from cache vs a fresh draft;
- the "Solved before" lookup with 100,000 resolved sessions vs 1,000 (<= 50 ms; last, with the
  analytics measurement: its bulk load wakes autovacuum too).

`--only similar` runs one measurement alone.

Served as production serves it (gunicorn, 2 sync workers, DEBUG off), with its targets:
- the session page's requests per second vs a bare one-query view's (>= 25%);
- fact-add p95 at 20 users (each pausing 0.5-1.5 s between actions) vs the bare view's under the
  same users (<= x3, and <= 30 ms);
- our own time in an answer + AI turn, at a fake AI latency of 1 s (<= 3% of it);
- the session page with 30 steps and 50 facts vs 3 and 3 (<= x1.3);
- the escalation queue with 200 waiting vs 5 (<= x1.5).

`manage.py bench --only analytics` (`make bench-analytics`) runs the analytics measurement alone.

AI cost (real SDK, the fake Messages API caching prompts as the real API does): the share of each
of a session's first five turns' input read from the prompt cache (>= 80% by the fifth turn).
"""

import os
import statistics
import time
import uuid
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.models import Flow
from flywheel_app.selectors import flow_match
from flywheel_app.tests.analytics_data import seed_history
from resolutionflow.accounts.models import Account, Role, User
from resolutionflow.ai.benchmark import raw_sdk_call
from resolutionflow.ai.client import ai_json
from resolutionflow.ai.fake_api import FakeMessagesAPI
from resolutionflow.ai.prompts import HEALTHCHECK_SCHEMA, HEALTHCHECK_SYSTEM
from sessions_app.bench import cache, load
from sessions_app.bench import similar as similar_bench
from sessions_app.bench.server import WORKERS, gunicorn
from sessions_app.models import AISession, Escalation, SessionStep
from sessions_app.services import intake, turns
from sessions_app.services.escalations import session_escalate


def _timed(fn, repeat: int) -> tuple[float, list[float]]:
    fn()  # warm up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), samples


def _cpu_ms(fn, repeat: int) -> float | None:
    """CPU per call of `fn`, in ms: this process's and its PostgreSQL backend's (read from /proc,
    so only with a local server on Linux; None otherwise). Unlike wall-clock time it does not move
    with what else the machine runs: on a shared 2-core box the two halves of a ratio can see very
    different loads."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = f"/proc/{cursor.fetchone()[0]}/stat"

    def backend() -> float:
        fields = open(stat).read().rsplit(")", 1)[1].split()  # noqa: SIM115  (a /proc read)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    try:
        backend()
    except OSError:  # the server runs elsewhere
        return None
    fn()  # warm up
    start_backend, start_process = backend(), time.process_time()
    for _ in range(repeat):
        fn()
    return (backend() - start_backend + time.process_time() - start_process) * 1000 / repeat


def _analyze() -> None:
    """Table statistics as autovacuum keeps them in production: bulk-loaded rows are measured with
    statistics that count them, not with whatever autovacuum happened to catch during the seeding."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@contextmanager
def _queries():
    with CaptureQueriesContext(connection) as ctx:
        yield ctx


# 20 users, each acting, then reading what came back for 0.5 to 1.5 s before acting again: a brisk
# engineer, not a script (about 20 requests a second together).
USER_ACTIONS = 12
USER_THINK = (0.5, 1.5)


def _login_session(user) -> str:
    """A login session for `user`, as the login view would make it (signed with the settings'
    SECRET_KEY in force); returns the cookie's value."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _bench_turn() -> dict:
    """The fake AI's answer to every turn: a question with two options and a new lane item."""
    return {
        "step": {
            "type": "question",
            "question": {
                "text": "Does it happen on every device?", "why": "Separates the account from the device.",
                "options": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}],
                "allow_free_text": True, "allow_skip": True,
            },
            "action": None,
            "resolution": None,
        },
        "confidence": 0.4,
        "reasoning": "Bench.",
        "lane": {"questions": [{"text": "Which devices?", "why": "Scope."}], "checks": []},
    }  # fmt: skip


class Command(BaseCommand):
    help = "Measure the hot paths (ratios in one run). Creates its own throwaway account."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--only", choices=sorted(ONLY), help="Run this one measurement alone.")

    def handle(self, *args, repeat: int, only: str | None = None, **options):
        tag = uuid.uuid4().hex[:8]
        if only:
            self.stdout.write(f"database: {connection.vendor}; repeat: {repeat}; only: {only}")
            ONLY[only](self, tag=tag, repeat=repeat)
            return
        account = Account.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
        user = User.objects.create_user(f"bench-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        rows = []
        self.stdout.write(f"database: {connection.vendor}; repeat: {repeat}")

        # 1. The AI door's own cost over a bare SDK call, same fake API, same latency.
        with FakeMessagesAPI(latency=0.010) as fake:
            # The door's cost includes taking and giving back a slot of the account's AI budget (two
            # Redis round-trips); its rate is not what is measured here, so it is no limit.
            unlimited = {account.slug: {"interactive_per_minute": 10**9}}
            with override_settings(
                AI_MODE="anthropic",
                ANTHROPIC_API_KEY="bench",
                ANTHROPIC_BASE_URL=fake.url,
                AI_BUDGET_OVERRIDES=unlimited,
            ):
                door_ms, _ = _timed(
                    lambda: ai_json(
                        action="healthcheck",
                        system=HEALTHCHECK_SYSTEM,
                        messages="ping",
                        schema=HEALTHCHECK_SCHEMA,
                        account=account,
                        user=user,
                    ),
                    repeat,
                )
            raw_ms, _ = _timed(
                lambda: raw_sdk_call(
                    base_url=fake.url,
                    model="claude-haiku-5-5",
                    system=HEALTHCHECK_SYSTEM,
                    message="ping",
                    schema=HEALTHCHECK_SCHEMA,
                ),
                repeat,
            )
        rows.append(("AI door call vs bare SDK call (fake API, 10 ms latency)", door_ms, raw_ms))

        # 2. The session page costs the same with 3 and with 30 steps.
        client = Client()
        client.force_login(user)
        small, large = self._session(account, user, 3), self._session(account, user, 30)
        # Counted at once: the next request resets the connection's query log.
        with _queries() as ctx:
            assert client.get(f"/sessions/{small.pk}/").status_code == 200
        q_small = len(ctx)
        with _queries() as ctx:
            assert client.get(f"/sessions/{large.pk}/").status_code == 200
        q_large = len(ctx)
        page_small, _ = _timed(lambda: client.get(f"/sessions/{small.pk}/"), repeat)
        page_large, _ = _timed(lambda: client.get(f"/sessions/{large.pk}/"), repeat)
        rows.append((f"session page, 30 steps vs 3 ({q_large} vs {q_small} queries)", page_large, page_small))

        # 3. An answer and the next AI turn (demo provider: measures our code, not the model).
        with override_settings(AI_MODE="demo"):
            turn_samples = []
            for _ in range(max(5, repeat // 3)):
                session = intake.session_start(
                    user=user, intake_type="text", intake_text="Outlook keeps asking for the password after a change"
                )
                turns.session_take_turn(session=session, actor=user)
                step = session.steps.get()
                start = time.perf_counter()
                client.post(
                    f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, headers={"HX-Request": "true"}
                )
                turn_samples.append((time.perf_counter() - start) * 1000)
        turn_ms = statistics.median(turn_samples)
        rows.append(("answer + next turn (demo AI) vs session page (3 steps)", turn_ms, page_small))

        # 4. Flow matching over a larger library.
        self._flows(account, 10)
        match_small, _ = _timed(
            lambda: flow_match(account=account, text="printer offline jobs stuck", domain="printing"), repeat
        )
        self._flows(account, 290)
        match_large, _ = _timed(
            lambda: flow_match(account=account, text="printer offline jobs stuck", domain="printing"), repeat
        )
        rows.append(("flow matching, 300 flows vs 10", match_large, match_small))

        # 5. A preview answered from the state_version cache vs a fresh draft (fake API, 10 ms latency).
        doc = "## Problem\nP\n## What we confirmed\n- F\n## Root cause\nC\n## Resolution\nR"
        with FakeMessagesAPI(latency=0.010) as fake:
            fake.set_responder(lambda body: doc)
            with override_settings(AI_MODE="anthropic", ANTHROPIC_API_KEY="bench", ANTHROPIC_BASE_URL=fake.url):
                url = f"/sessions/{small.pk}/preview/resolution_note/"
                htmx = {"HX-Request": "true"}
                fresh_ms, _ = _timed(lambda: client.post(url, headers=htmx), repeat)
                with _queries() as ctx:
                    assert b"from cache" in client.get(url, headers=htmx).content
                q_preview = len(ctx)
                cached_ms, _ = _timed(lambda: client.get(url, headers=htmx), repeat)
        rows.append((f"preview from cache ({q_preview} queries) vs fresh draft", cached_ms, fresh_ms))

        # 6. The escalation queue with 50 sessions waiting vs 5.
        colleague = User.objects.create_user(f"bench2-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        queue = Client()
        queue.force_login(colleague)
        for n in range(5):
            session_escalate(session=self._session(account, user, 3), actor=user, reason=f"stuck {n}", package="x")
        queue_small, _ = _timed(lambda: queue.get("/sessions/escalations/", headers={"HX-Request": "true"}), repeat)
        for n in range(45):
            session_escalate(session=self._session(account, user, 3), actor=user, reason=f"stuck {n}", package="x")
        with _queries() as ctx:
            queue.get("/sessions/escalations/", headers={"HX-Request": "true"})
        q_queue = len(ctx)
        queue_large, _ = _timed(lambda: queue.get("/sessions/escalations/", headers={"HX-Request": "true"}), repeat)
        rows.append((f"escalation queue, 50 waiting vs 5 ({q_queue} queries)", queue_large, queue_small))

        self.stdout.write(f"{'measurement':<66} {'median ms':>10} {'baseline ms':>12} {'ratio':>7}")
        for name, value, baseline in rows:
            self.stdout.write(f"{name:<66} {value:>10.2f} {baseline:>12.2f} {value / baseline:>7.2f}")
        cache.report(self.stdout, user=user)
        self._served(tag)

        # 7. Last: the analytics page computed afresh (cache invalidated) with 10,000 sessions vs 100
        # (target <= x3). Its bulk inserts wake PostgreSQL's autovacuum, which would otherwise run
        # beside the served measurements on a 2-core machine and slow them (seen: a turn 18 -> 53 ms).
        self._report_analytics(tag)
        self._similar(tag=tag, repeat=repeat)
        # The bench account is left in place: it runs on a throwaway database under `make bench`.

    def _report_analytics(self, tag: str) -> None:
        name, (large_ms, large_cpu), (small_ms, small_cpu) = self._analytics(tag)
        self.stdout.write("")
        self.stdout.write(f"{'measurement':<66} {'median ms':>10} {'baseline ms':>12} {'ratio':>7}  target")
        ratio = large_ms / small_ms
        self.stdout.write(
            f"{name:<66} {large_ms:>10.2f} {small_ms:>12.2f} {ratio:>7.2f}  {'met' if ratio <= 3 else 'MISSED'}"
        )
        if large_cpu is not None and small_cpu is not None:
            cpu = "  (CPU ms: this process + its PostgreSQL backend, mean of 30)"
            self.stdout.write(f"{cpu:<66} {large_cpu:>10.2f} {small_cpu:>12.2f} {large_cpu / small_cpu:>7.2f}  info")

    def _similar(self, *, tag: str, repeat: int) -> None:
        name, large_ms, small_ms = similar_bench.run(self.stdout, tag=tag, repeat=repeat)
        met = large_ms <= similar_bench.TARGET_MS
        self.stdout.write(f"{'measurement':<66} {'median ms':>10} {'baseline ms':>12} {'ratio':>7}  target")
        self.stdout.write(
            f"{name:<66} {large_ms:>10.2f} {small_ms:>12.2f} {large_ms / small_ms:>7.2f}  {'met' if met else 'MISSED'}"
        )

    # --- served by gunicorn ---------------------------------------------------------------------

    def _served(self, tag: str) -> None:
        # An account of its own, so the queue holds exactly what this part puts in it.
        account = Account.objects.create(name=f"Bench served {tag}", slug=f"bench-served-{tag}")
        user = User.objects.create_user(f"served-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        secret = "bench-" + uuid.uuid4().hex + uuid.uuid4().hex
        small = self._session(account, user, 3, facts=3)
        large = self._session(account, user, 30, facts=50)
        writers = [
            User.objects.create_user(f"writer{n}-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
            for n in range(20)
        ]
        writer_sessions = [self._session(account, w, 3, facts=0) for w in writers]
        colleague = User.objects.create_user(f"queue-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        with override_settings(SECRET_KEY=secret):
            cookie = {settings.SESSION_COOKIE_NAME: _login_session(user)}
            writer_cookies = [{settings.SESSION_COOKIE_NAME: _login_session(w)} for w in writers]
            colleague_cookie = {settings.SESSION_COOKIE_NAME: _login_session(colleague)}
        rows = []
        with FakeMessagesAPI(latency=1.0) as fake:
            fake.set_responder(lambda body: _bench_turn())
            with gunicorn(ai_url=fake.url, secret_key=secret) as host:
                # 1. Requests per second: the session page vs a bare one-query view, 4 clients at once.
                load.throughput(host, "/bench/bare/", cookies={}, concurrency=4, total=200)  # warm both workers
                bare = load.throughput(host, "/bench/bare/", cookies={}, concurrency=4, total=800)
                page = load.throughput(host, f"/sessions/{small.pk}/", cookies=cookie, concurrency=4, total=800)
                rows.append(("session page req/s vs bare view (>= 0.25)", page.per_second, bare.per_second, 0.25, ">="))

                # 2. Fact adds at 20 users (each on their own session) vs the bare view at the same 20.
                browsers = [load.Browser(host, c) for c in writer_cookies]
                for b, s in zip(browsers, writer_sessions, strict=True):
                    b.open(f"/sessions/{s.pk}/")
                htmx = {"HX-Request": "true"}
                adds = load.users(
                    host,
                    [(b, "POST", f"/sessions/{s.pk}/facts/add/", lambda n: {"text": f"Fact {n}."}, htmx, 200)
                     for b, s in zip(browsers, writer_sessions, strict=True)],
                    repeat=USER_ACTIONS, think=USER_THINK,
                )  # fmt: skip
                bares = load.users(
                    host,
                    [(load.Browser(host), "GET", "/bench/bare/", None, {}, 200) for _ in writers],
                    repeat=USER_ACTIONS,
                    think=USER_THINK,
                )
                rows.append(("fact add p95 ms at 20 users vs bare view (<= 3)", adds.p95, bares.p95, 3, "<="))
                rows.append(("  (median ms, for reading the p95)", adds.median, bares.median, 0, "info"))
                rows.append(("fact add p95 ms at 20 users vs 30 ms (<= 1)", adds.p95, 30.0, 1, "<="))

                # 3. Our own time in an answer + AI turn, the fake AI answering after 1 s.
                ours = []
                for _ in range(5):
                    session = self._session(account, user, 3, facts=3)
                    step = session.steps.get(order=3)
                    browser = load.Browser(host, cookie)
                    browser.open(f"/sessions/{session.pk}/")
                    start = time.perf_counter()
                    status, _ = browser.request(
                        "POST", f"/sessions/{session.pk}/steps/{step.pk}/answer/", {"value": "yes"}, htmx
                    )
                    ours.append((time.perf_counter() - start) * 1000 - 1000)
                    assert status == 200, status
                turn_ms = statistics.median(ours)
                rows.append(("our time per AI turn ms vs 1 s AI latency (<= 0.03)", turn_ms, 1000.0, 0.03, "<="))

                # 4. The page with 30 steps and 50 facts vs 3 and 3, one client.
                page_small = load.throughput(host, f"/sessions/{small.pk}/", cookies=cookie, concurrency=1, total=100)
                page_large = load.throughput(host, f"/sessions/{large.pk}/", cookies=cookie, concurrency=1, total=100)
                rows.append(("session page ms, 30 steps/50 facts vs 3/3 (<= 1.3)", page_large.median,
                             page_small.median, 1.3, "<="))  # fmt: skip

                # 5. The queue with 200 waiting vs 5, one client, the HTMX region as the poll gets it.
                self._waiting(account, user, 5)
                queue = f"/sessions/escalations/?v=full-{tag}"
                few = load.throughput(host, queue, cookies=colleague_cookie, concurrency=1, total=100)
                self._waiting(account, user, 195)
                many = load.throughput(host, queue, cookies=colleague_cookie, concurrency=1, total=100)
                rows.append(("escalation queue ms, 200 waiting vs 5 (<= 1.5)", many.median, few.median, 1.5, "<="))
                failures = bare.failures + page.failures + adds.failures + bares.failures + few.failures + many.failures
        self.stdout.write("")
        self.stdout.write(f"served by gunicorn ({WORKERS} sync workers, DEBUG off); failed requests: {failures}")
        self.stdout.write(f"{'measurement':<66} {'value':>10} {'baseline':>12} {'ratio':>7}  target")
        for name, value, baseline, target, sense in rows:
            ratio = value / baseline
            met = ratio >= target if sense == ">=" else ratio <= target
            verdict = "" if sense == "info" else ("met" if met else "MISSED")
            self.stdout.write(f"{name:<66} {value:>10.2f} {baseline:>12.2f} {ratio:>7.3f}  {verdict}")

    def _analytics(self, tag: str) -> tuple[str, tuple, tuple]:
        account = Account.objects.create(name=f"Bench analytics {tag}", slug=f"bench-analytics-{tag}")
        owner = User.objects.create_user(f"analytics-{tag}@example.test", "x", account=account, role=Role.OWNER)
        claimer = User.objects.create_user(f"claimer-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        client = Client()
        client.force_login(owner)

        def fresh_page():
            analytics_invalidate(account_id=account.pk)
            assert client.get("/manage/analytics/?days=90").status_code == 200

        seed_history(account=account, owner=owner, claimer=claimer, sessions=100, days=90)
        _analyze()
        small_ms, _ = _timed(fresh_page, 10)
        small_cpu = _cpu_ms(fresh_page, 30)
        seed_history(account=account, owner=owner, claimer=claimer, sessions=9_900, days=90)
        _analyze()
        large_ms, _ = _timed(fresh_page, 10)
        large_cpu = _cpu_ms(fresh_page, 30)
        name = "analytics page: 10,000 vs 100 sessions, computed afresh (<= x3)"
        return name, (large_ms, large_cpu), (small_ms, small_cpu)

    def _waiting(self, account, by, count: int) -> None:
        """`count` sessions awaiting pickup, escalated by `by` (rows only: the queue reads them)."""
        sessions = [self._session(account, by, 3, facts=0) for _ in range(count)]
        AISession.objects.filter(pk__in=[s.pk for s in sessions]).update(status=AISession.Status.REQUESTING_ESCALATION)
        Escalation.objects.bulk_create(
            [Escalation(account=account, session=s, escalated_by=by, reason="Stuck", at_step=2) for s in sessions]
        )

    def _session(self, account, user, steps: int, facts: int = 0) -> AISession:
        session = AISession.objects.create(
            account=account,
            owner=user,
            problem_summary=f"Bench session with {steps} steps",
            intake_content="Bench intake",
            step_count=steps,
            context_message="x",
        )
        for order in range(1, steps + 1):
            SessionStep.objects.create(
                account=account,
                session=session,
                order=order,
                step_type="question",
                raw_turn="{}",
                content={
                    "text": f"Question {order}?",
                    "why": "why",
                    "options": [{"label": "Yes", "value": "yes"}],
                    "allow_free_text": True,
                    "allow_skip": True,
                },
                response_kind="option" if order < steps else "",
                response_value="yes" if order < steps else "",
                responded_at=session.created_at if order < steps else None,
                answer_message="Picked: Yes",
            )
        # facts_app builds on sessions_app: the bench makes its rows without importing it.
        Fact = apps.get_model("facts_app", "Fact")
        Fact.objects.bulk_create(
            [
                Fact(account=account, session=session, text=f"Fact number {n}.", source_type="user_note")
                for n in range(facts)
            ]
        )
        return session

    def _flows(self, account, count: int) -> None:
        tree = {
            "start": "q",
            "nodes": [
                {
                    "id": "q",
                    "type": "question",
                    "text": "Q?",
                    "options": [{"label": "A", "next": "a"}, {"label": "B", "next": "b"}],
                },
                {"id": "a", "type": "resolution", "text": "A"},
                {"id": "b", "type": "resolution", "text": "B"},
            ],
        }
        words = ["printer", "vpn", "outlook", "backup", "lockout", "wifi", "teams", "disk", "dns", "license"]
        Flow.objects.bulk_create(
            [
                Flow(
                    account=account,
                    title=f"{words[i % 10]} issue {i}",
                    domain="other",
                    published=True,
                    keywords=[f"{words[i % 10]} problem {i}", f"{words[(i + 3) % 10]} error"],
                    tree=tree,
                )
                for i in range(count)
            ]
        )


# `--only <name>`: the measurements that can run alone.
ONLY = {"similar": Command._similar, "analytics": lambda command, *, tag, repeat: command._report_analytics(tag)}
