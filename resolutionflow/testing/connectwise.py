"""Pytest plugin: the fake ConnectWise Manage on loopback (see conftest.py).

def test_x(fake_connectwise, connected):       # `connected`: tenant_a's connection to it
    fake_connectwise.fail_next("PATCH", "service/tickets/*", 403)
    ...
    assert fake_connectwise.calls("POST", "service/tickets/48213/notes")
"""

import pytest

from resolutionflow.psa.fake_connectwise import FakeConnectWise


@pytest.fixture(scope="session")
def fake_connectwise_server():
    with FakeConnectWise() as server:
        yield server


@pytest.fixture
def fake_connectwise(fake_connectwise_server, settings):
    """The fake, reset, with the server settings pointing the client at it over http."""
    fake_connectwise_server.reset()
    settings.CONNECTWISE_CLIENT_ID = fake_connectwise_server.client_id
    settings.CONNECTWISE_HTTP_HOSTS = ["127.0.0.1"]
    settings.CONNECTWISE_TIMEOUT = 5
    settings.CONNECTWISE_MAX_RETRIES = 2
    settings.CONNECTWISE_MAX_RETRY_WAIT = 2
    yield fake_connectwise_server
    fake_connectwise_server.reset()


@pytest.fixture
def connect(fake_connectwise):
    """connect(account, **overrides) -> a PSAConnection of `account` to the fake."""
    from resolutionflow.psa.crypto import secret_encrypt
    from resolutionflow.psa.models import PSAConnection

    def make(account, **overrides):
        fields = {
            "site": fake_connectwise.site,
            "company_id": fake_connectwise.company_id,
            "public_key": fake_connectwise.public_key,
            "private_key_encrypted": secret_encrypt(overrides.pop("private_key", fake_connectwise.private_key)),
            **overrides,
        }
        return PSAConnection.objects.create(account=account, **fields)

    return make
