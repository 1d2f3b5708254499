"""Root fixtures: users of two accounts and every role, so every test can prove isolation."""

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from resolutionflow.accounts.models import Role
from resolutionflow.accounts.tests.factories import TEST_PASSWORD, AccountFactory, TeamFactory, UserFactory

pytest_plugins = [
    "resolutionflow.testing.ai",
    "resolutionflow.testing.connectwise",
    "resolutionflow.testing.services",
    "resolutionflow.testing.browser",
]


def pytest_report_header(config):

    db = settings.DATABASES["default"]
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    broker = "inline (eager)" if settings.CELERY_TASK_ALWAYS_EAGER else settings.CELERY_BROKER_URL.split("@")[-1]
    return [
        f"database: {connection.vendor} ({db['ENGINE']}) {db.get('HOST') or db['NAME']}:{db.get('PORT') or ''}",
        f"cache: {cache}; celery broker: {broker}; AI mode: {settings.AI_MODE}",
    ]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database is built from the models (--no-migrations), so the PostgreSQL extensions
    the migrations enable are enabled here too: pg_trgm (trigram similarity, "Solved before")."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (Redis in CI): nothing cached by one test (a page body,
    a preview, a login session) is served to the next."""

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production strength costs ~0.3 s per user; tests make dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _tenant(slug: str):
    account = AccountFactory(slug=slug, name=slug.replace("-", " ").title())
    team = TeamFactory(account=account, name="Service Desk")

    def user(role, **kw):
        u = UserFactory(
            account=account, role=role, email=f"{role}{'-cov' if kw.get('l1_coverage') else ''}@{slug}.test", **kw
        )
        u.teams.add(team)
        return u

    return SimpleNamespace(
        account=account,
        team=team,
        owner=user(Role.OWNER),
        admin=user(Role.ADMIN),
        engineer=user(Role.ENGINEER),
        coverage_engineer=user(Role.ENGINEER, l1_coverage=True),
        l1=user(Role.L1_TECH),
    )


@pytest.fixture
def tenant_a(db):
    """Northwind-like account with every role."""
    return _tenant("acme")


@pytest.fixture
def tenant_b(db):
    """A second account: nothing of tenant_a may ever be visible to it, and vice versa."""
    return _tenant("globex")


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def login(client):
    """login(user) -> the Django test client logged in as that user."""

    def _login(user):
        client.force_login(user)
        return client

    return _login
