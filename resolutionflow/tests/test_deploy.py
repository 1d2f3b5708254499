"""Production settings: `check --deploy` is clean, and the development SECRET_KEY is refused."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

from resolutionflow.settings import DEV_SECRET_KEY

# A developer's .env (the one docker-compose reads) must not change what these tests see: they
# are about the code's production defaults, so the child process does not read it.
WITHOUT_DOT_ENV = "import environ; environ.Env.read_env = classmethod(lambda cls, *args, **kwargs: None); "


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh process with production settings: settings are read once, at import."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "resolutionflow.settings",
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": "rf.example.com",
        "PSA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        **{name: os.environ[name] for name in ("DATABASE_URL", "REDIS_URL") if name in os.environ},
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_DOT_ENV + code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_finds_no_issues_under_production_settings():
    result = _python(
        "import runpy, sys; sys.argv = ['manage.py', 'check', '--deploy', '--fail-level', 'WARNING']; "
        "runpy.run_path('manage.py', run_name='__main__')",
        SECRET_KEY=secrets.token_urlsafe(45)[:60],
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "secret_key", [None, "", DEV_SECRET_KEY, "too-short-for-production"], ids=["unset", "empty", "dev key", "short"]
)
def test_production_settings_refuse_a_missing_or_weak_secret_key(secret_key):
    env = {} if secret_key is None else {"SECRET_KEY": secret_key}

    result = _python("import resolutionflow.settings", **env)

    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr.strip().splitlines()[-1]


def test_production_settings_refuse_to_start_without_psa_encryption_keys():
    result = _python(
        "import resolutionflow.settings", SECRET_KEY=secrets.token_urlsafe(45)[:60], PSA_ENCRYPTION_KEYS=""
    )

    assert result.returncode != 0
    assert "PSA_ENCRYPTION_KEYS must be set" in result.stderr.strip().splitlines()[-1]
