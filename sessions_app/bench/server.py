"""gunicorn serving the project for the bench: 2 sync workers, DEBUG off, the database and Redis
of the environment, the AI pointed at a fake Messages API on loopback."""

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(*, ai_url: str, secret_key: str) -> dict[str, str]:
    """The environment the bench serves with: production settings (DEBUG off) and every setting
    production requires, throwaway values where they are secrets."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sessions_app.bench.settings",
        "DJANGO_DEBUG": "false",
        "SECRET_KEY": secret_key,
        # Production refuses to start without the key that encrypts ConnectWise secrets: a throwaway one.
        "PSA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": ai_url,
        "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def gunicorn(*, ai_url: str, secret_key: str, workers: int = WORKERS) -> Iterator[str]:
    """Serve the project on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    env = production_env(ai_url=ai_url, secret_key=secret_key)
    base_dir = Path(settings.BASE_DIR)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=base_dir, env=env, check=True
    )
    server = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [
            sys.executable, "-m", "gunicorn", "resolutionflow.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning", "--timeout", "60",
        ],
        cwd=base_dir, env=env,
    )  # fmt: skip
    try:
        _wait_until_up(port, server)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_until_up(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 30 s")
