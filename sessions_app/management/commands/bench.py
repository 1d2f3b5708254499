"""`manage.py bench` (run by `make bench` on throwaway PostgreSQL + Redis): latency and cost of the
hot paths, reported as ratios measured in one run so the numbers compare across machines.

- AI door vs a bare SDK call, both against the fake Messages API with a fixed latency;
- the session page with 3 steps vs 30 steps (it should cost the same: fixed queries);
- an answer + AI turn (demo provider) vs the session page;
- flow matching over 10 vs 300 published flows.
"""

import statistics
import time
import uuid
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from flywheel_app.models import Flow
from flywheel_app.selectors import flow_match
from resolutionflow.accounts.models import Account, Role, User
from resolutionflow.ai.benchmark import raw_sdk_call
from resolutionflow.ai.client import ai_json
from resolutionflow.ai.fake_api import FakeMessagesAPI
from resolutionflow.ai.prompts import HEALTHCHECK_SCHEMA, HEALTHCHECK_SYSTEM
from sessions_app.models import AISession, SessionStep
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


@contextmanager
def _queries():
    with CaptureQueriesContext(connection) as ctx:
        yield ctx


class Command(BaseCommand):
    help = "Measure the hot paths (ratios in one run). Creates its own throwaway account."

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=30)

    def handle(self, *args, repeat: int, **options):
        tag = uuid.uuid4().hex[:8]
        account = Account.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
        user = User.objects.create_user(f"bench-{tag}@example.test", "x", account=account, role=Role.ENGINEER)
        rows = []
        self.stdout.write(f"database: {connection.vendor}; repeat: {repeat}")

        # 1. The AI door's own cost over a bare SDK call, same fake API, same latency.
        with FakeMessagesAPI(latency=0.010) as fake:
            with override_settings(AI_MODE="anthropic", ANTHROPIC_API_KEY="bench", ANTHROPIC_BASE_URL=fake.url):
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
        # The bench account is left in place: it runs on a throwaway database under `make bench`.

    def _session(self, account, user, steps: int) -> AISession:
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
