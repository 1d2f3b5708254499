"""Pytest plugin: the AI fixtures (see conftest.py).

Tests never reach the real Anthropic API. By default every test runs the offline demo
provider, even when the developer's shell has an API key. A test that wants the real SDK on
the wire asks for `fake_anthropic`: the project's fake Messages API on loopback, one server
for the whole session, reset for each test.

    def test_x(fake_anthropic, tenant_a):
        fake_anthropic.enqueue(Reply.json({"status": "ok"}))
        ai_json(action="healthcheck", ..., account=tenant_a.account)
        assert fake_anthropic.requests[0]["model"] == settings.AI_MODEL_FAST
"""

import pytest

from resolutionflow.ai import budget
from resolutionflow.ai.fake_api import FakeMessagesAPI


@pytest.fixture(scope="session")
def fake_anthropic_server():
    with FakeMessagesAPI() as server:
        yield server


@pytest.fixture(autouse=True)
def _ai_stays_offline(settings):
    """A key in the environment must not make the test suite call (and pay) the real API."""
    settings.ANTHROPIC_API_KEY = ""
    settings.ANTHROPIC_BASE_URL = None
    settings.AI_MODE = "demo"
    budget.forget_local()  # Redis is emptied per test with the cache; a process's own budget here


@pytest.fixture
def fake_anthropic(fake_anthropic_server, settings, _ai_stays_offline):
    """The fake Messages API, with the app in `anthropic` mode pointed at it. The SDK client
    cache in `resolutionflow.ai.client` is keyed on these settings, so the client is fresh
    whenever a test changes them (timeouts, retries)."""
    fake_anthropic_server.reset()
    settings.ANTHROPIC_API_KEY = "test-key"
    settings.ANTHROPIC_BASE_URL = fake_anthropic_server.url
    settings.AI_MODE = "anthropic"
    settings.AI_MAX_RETRIES = 2
    settings.AI_REQUEST_TIMEOUT = 5
    settings.AI_DEADLINE = 8
    # The AI budget's rates are not what most tests are about: generous here, set by those that are.
    settings.AI_BUDGET_INTERACTIVE_PER_MINUTE = settings.AI_BUDGET_BACKGROUND_PER_MINUTE = 60_000
    yield fake_anthropic_server
    fake_anthropic_server.reset()
