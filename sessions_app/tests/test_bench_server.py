"""`make bench` serves the project with production settings: that environment must hold every
setting production refuses to start without (a missing one stopped the bench at its first served
measurement once, when ConnectWise's encryption key became required)."""

import secrets
import subprocess
import sys

from django.conf import settings

from sessions_app.bench.server import production_env


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [sys.executable, "manage.py", "check", "-v0"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True
    )


def test_the_bench_serves_with_every_setting_production_requires():
    env = production_env(ai_url="http://127.0.0.1:9", secret_key=secrets.token_urlsafe(50))
    assert env["DJANGO_DEBUG"] == "false"
    result = _check(env)
    assert result.returncode == 0, result.stderr[-2000:]


def test_without_the_encryption_key_production_refuses_to_start():
    env = production_env(ai_url="http://127.0.0.1:9", secret_key=secrets.token_urlsafe(50))
    env.pop("PSA_ENCRYPTION_KEYS")
    result = _check(env)
    assert result.returncode != 0 and "PSA_ENCRYPTION_KEYS must be set" in result.stderr
