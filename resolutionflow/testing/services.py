"""Pytest plugin: a real Celery worker process for the task tests (see conftest.py), and
`tasks_inline` for tests that want a task run where it is queued.

`celery_worker_process` starts one worker per session, against the throwaway Redis of
`make test` (REDIS_URL) and the *test* database pytest-django created. The worker is another
process, so it only sees committed rows: a test that uses it is marked
`@pytest.mark.worker` and `@pytest.mark.django_db(transaction=True)` (checked below), and
waits for the worker's effect with `wait_until`, polling the database.

The worker writes e-mail to files (`worker.mail_dir`); when a worker test fails, the part of
the worker's log written during that test is added to the report.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
LOG_TAIL_CHARS = 8000

T = TypeVar("T")
_log_offset = pytest.StashKey[int]()
_startup_seconds = pytest.StashKey[float]()


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    hostname: str
    log_path: Path
    mail_dir: Path
    startup_seconds: float = 0.0

    def log(self, start: int = 0) -> str:
        with self.log_path.open("rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def sent_mail(self) -> list[str]:
        """Every message the worker has e-mailed this session, one file each (filebased backend)."""
        return [p.read_text(errors="replace") for p in sorted(self.mail_dir.iterdir()) if p.is_file()]


WORKER_ASSESSMENT_TIMEOUT = 3


def wait_until(
    condition: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.05, description: str = "the condition"
) -> T:
    """Call `condition` until it returns something truthy, and return that; fail after `timeout` seconds.

    The condition usually queries the database: in a transactional test every query runs in
    autocommit, so it sees what the worker has committed since the last poll.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {description}", pytrace=False)
        time.sleep(interval)


def _database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL (as django-environ reads it) for the database behind `settings_dict`."""
    if settings_dict["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail(
            f"celery_worker_process needs PostgreSQL (the worker is another process and cannot share "
            f"{settings_dict['ENGINE']} test database): run the suite with `make test`.",
            pytrace=False,
        )
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(settings_dict.get("HOST") or "", safe="")  # a socket directory is percent-encoded
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


def _wait_ready(worker: CeleryWorker) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(
                f"the Celery worker exited with status {worker.process.returncode} before it was ready; "
                f"its log:\n{worker.log()[-LOG_TAIL_CHARS:]}",
                pytrace=False,
            )
        # Celery logs "<hostname> ready." once the consumer listens on the queue.
        if f"{worker.hostname} ready." in worker.log():
            return
        time.sleep(0.1)
    pytest.fail(
        f"the Celery worker was not ready after {START_TIMEOUT:g}s; its log:\n{worker.log()[-LOG_TAIL_CHARS:]}",
        pytrace=False,
    )


def _stop(worker: CeleryWorker) -> None:
    if worker.process.poll() is not None:
        return
    worker.process.send_signal(signal.SIGTERM)  # warm shutdown: finishes the task at hand
    try:
        worker.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def tasks_inline() -> Iterator[None]:
    """Celery tasks run in the request that queues them, as on a laptop without Redis (`make test`
    has Redis and no worker in the test process). Sent with `on_commit`, they still need the commit:
    `django_capture_on_commit_callbacks(execute=True)` in a test of a single transaction."""
    from resolutionflow.celery import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


@pytest.fixture(scope="session")
def celery_worker_process(request, django_db_setup, tmp_path_factory, fake_anthropic_server) -> Iterator[CeleryWorker]:
    """A real `celery worker` subprocess on the test database; stopped at the end of the session.
    Its AI calls go to the session's fake Messages API (never the real one), with the handoff
    assessment limited to WORKER_ASSESSMENT_TIMEOUT seconds."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        pytest.fail(
            "celery_worker_process needs REDIS_URL (Redis is the Celery broker): run the suite with "
            "`make test` or `.ci/services.sh .venv/bin/pytest ...`, which start PostgreSQL and Redis.",
            pytrace=False,
        )
    from django.db import connection

    workdir = tmp_path_factory.mktemp("celery-worker")
    mail_dir = workdir / "mail"
    mail_dir.mkdir()
    log_path = workdir / "worker.log"
    hostname = f"rf-test-{os.getpid()}@{socket.gethostname()}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "resolutionflow.settings",
        "DATABASE_URL": _database_url(connection.settings_dict),
        "REDIS_URL": redis_url,
        # Idle connections kept by the worker would only get in the way of the test DB teardown.
        "DB_CONN_MAX_AGE": "0",
        "EMAIL_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "PYTHONUNBUFFERED": "1",
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_BASE_URL": fake_anthropic_server.url,
        "AI_MAX_RETRIES": "0",
        "HANDOFF_ASSESSMENT_TIMEOUT": str(WORKER_ASSESSMENT_TIMEOUT),
        # As the fake_anthropic fixture: the AI budget's rates are set by the tests about them.
        "AI_BUDGET_INTERACTIVE_PER_MINUTE": "60000",
        "AI_BUDGET_BACKGROUND_PER_MINUTE": "60000",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "resolutionflow", "worker",
        "--pool=solo", "--concurrency=1", "-Q", "celery,background", f"--hostname={hostname}",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO",
    ]  # fmt: skip
    # Tests without a worker may have queued tasks (sent after a commit, e.g. a handoff assessment
    # after an escalation): they would wait in the broker and run first, one at a time, while a
    # worker test waits for its own task. The worker starts from an empty queue.
    from resolutionflow.celery import app

    app.control.purge()
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log_file, stderr=subprocess.STDOUT)  # noqa: S603
    worker = CeleryWorker(process=process, hostname=hostname, log_path=log_path, mail_dir=mail_dir)
    try:
        _wait_ready(worker)
        worker.startup_seconds = request.config.stash[_startup_seconds] = time.monotonic() - started
        yield worker
    finally:
        _stop(worker)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if "celery_worker_process" not in getattr(item, "fixturenames", ()):
        return
    django_db = item.get_closest_marker("django_db")
    transactional = django_db is not None and django_db.kwargs.get(
        "transaction", bool(django_db.args and django_db.args[0])
    )
    if item.get_closest_marker("worker") is None or not transactional:
        # Without a transactional test the worker never sees the rows and the test only times out.
        pytest.fail(
            "a test using celery_worker_process must be marked @pytest.mark.worker and "
            "@pytest.mark.django_db(transaction=True)",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    worker = getattr(item, "funcargs", {}).get("celery_worker_process")
    if worker is not None:
        item.stash[_log_offset] = worker.log_size()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    worker = getattr(item, "funcargs", {}).get("celery_worker_process")
    if worker is not None and report.failed:
        start = item.stash.get(_log_offset, 0) if call.when == "call" else 0
        report.sections.append(("celery worker log", worker.log(start)[-LOG_TAIL_CHARS:]))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _startup_seconds in config.stash:
        terminalreporter.write_line(f"celery worker: ready in {config.stash[_startup_seconds]:.2f}s")
