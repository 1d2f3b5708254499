"""The ConnectWise connection and member pages (issue #15 §1, §5), against the fake over HTTP."""

import base64
import html
import logging

import pytest

from resolutionflow.accounts.models import AuditLog
from resolutionflow.accounts.tests.factories import UserFactory
from resolutionflow.psa.crypto import secret_decrypt
from resolutionflow.psa.fake_connectwise import FakeConnectWise
from resolutionflow.psa.models import PSAConnection, PSAMember

pytestmark = pytest.mark.django_db

URL = "/manage/connectwise/"


def _form(fake, **overrides):
    return {"site": fake.site, "company_id": fake.company_id, "public_key": fake.public_key,
            "private_key": fake.private_key, **overrides}  # fmt: skip


@pytest.mark.parametrize("role", ["engineer", "coverage_engineer", "l1"])
@pytest.mark.parametrize(
    "url", [URL, URL + "test/", URL + "statuses/", URL + "disconnect/", URL + "members/", URL + "members/match/"]
)
def test_engineers_and_l1_are_refused(tenant_a, client, role, url, connect):
    connect(tenant_a.account)
    client.force_login(getattr(tenant_a, role))
    assert client.get(url).status_code in (403, 405)
    assert client.post(url, {"site": "evil.example.com"}).status_code == 403
    assert PSAConnection.objects.get(account=tenant_a.account).site != "evil.example.com"


def test_connect_saves_encrypted_tests_and_never_shows_the_key(tenant_a, client, fake_connectwise, caplog):
    caplog.set_level(logging.DEBUG)
    client.force_login(tenant_a.admin)
    response = client.post(URL, _form(fake_connectwise), follow=True)
    page = response.content.decode()
    conn = PSAConnection.objects.get(account=tenant_a.account)
    assert conn.last_test_ok is True and "Connected to" in page and "codebase v4_6_release" in page
    assert secret_decrypt(conn.private_key_encrypted) == fake_connectwise.private_key
    assert fake_connectwise.private_key not in conn.private_key_encrypted
    # Everyone is matched by e-mail once ConnectWise answers (no tenant_a address is a member's).
    assert "Members matched by e-mail: 0; without a member: 5." in page
    assert PSAMember.objects.filter(user__account=tenant_a.account, match="none").count() == 5
    # The key is not rendered back: the form says it is set, and offers to replace it.
    assert 'id="psa-key-state">set<' in page and "Replace the private key" in page
    assert fake_connectwise.private_key not in page
    assert fake_connectwise.private_key not in client.get(URL + "members/").content.decode()
    basic = base64.b64encode(
        f"{fake_connectwise.company_id}+{fake_connectwise.public_key}:{fake_connectwise.private_key}".encode()
    ).decode()
    assert fake_connectwise.private_key not in caplog.text and basic not in caplog.text
    audit = AuditLog.objects.filter(action="psa.connection.create").get()
    assert fake_connectwise.private_key not in str(audit.details)
    # An empty key on a later save keeps the stored one.
    client.post(URL, _form(fake_connectwise, private_key="", public_key=fake_connectwise.public_key))
    conn.refresh_from_db()
    assert secret_decrypt(conn.private_key_encrypted) == fake_connectwise.private_key


@pytest.mark.parametrize(
    ("overrides", "fault", "says"),
    [
        ({"private_key": "wrong-secret-key-123"}, None, "ConnectWise refused the keys (401)"),
        ({"company_id": "contoso"}, None, "knows no company 'contoso': check the company id"),
        ({"site": "127.0.0.1:1"}, None, "could not be reached"),
        ({}, ("GET", "service/boards", 403), "The API member may not read the service boards (403)"),
    ],
)
def test_test_connection_says_exactly_what_failed(tenant_a, client, fake_connectwise, caplog, overrides, fault, says):
    caplog.set_level(logging.DEBUG)
    if fault:
        fake_connectwise.fail_next(*fault)
    client.force_login(tenant_a.owner)
    page = html.unescape(client.post(URL, _form(fake_connectwise, **overrides), follow=True).content.decode())
    conn = PSAConnection.objects.get(account=tenant_a.account)  # saved first, whatever the test said
    assert conn.last_test_ok is False and says in conn.last_test_message and says in page
    for secret in ("wrong-secret-key-123", fake_connectwise.private_key):
        assert secret not in page and secret not in caplog.text and secret not in conn.last_test_message


@pytest.mark.parametrize(
    ("site", "ok"),
    [("na.myconnectwise.net", True), ("https://na.myconnectwise.net", False), ("na.myconnectwise.net/v4", False),
     ("user@host.example", False), ("a b.example", False), ("127.0.0.1:8119", True)],
)  # fmt: skip
def test_the_site_is_a_host_only(tenant_a, client, site, ok, settings):
    settings.CONNECTWISE_TIMEOUT = 0.2
    client.force_login(tenant_a.admin)
    response = client.post(URL, {"site": site, "company_id": "c", "public_key": "p", "private_key": "k"})
    assert PSAConnection.objects.filter(account=tenant_a.account).exists() is ok
    if not ok:
        assert response.status_code == 400 and "Give the host only" in response.content.decode()


def test_statuses_are_chosen_from_the_boards_statuses(tenant_a, client, connect, fake_connectwise):
    connect(tenant_a.account, last_test_ok=True, board_id=1)
    client.force_login(tenant_a.admin)
    page = client.get(URL).content.decode()
    assert "Escalated to L3" in page and "Service Desk" in page
    page = client.get(URL + "?board=2").content.decode()
    assert ">Resolved</option>" in page and 'value="204"' in page
    client.post(URL + "statuses/", {"board": "1", "resolved_status": "104", "escalated_status": "103"})
    conn = PSAConnection.objects.get(account=tenant_a.account)
    assert (conn.board_id, conn.resolved_status_id, conn.resolved_status_name) == (1, 104, "Resolved")
    assert (conn.escalated_status_id, conn.escalated_status_name) == (103, "Escalated to L3")
    response = client.post(URL + "statuses/", {"board": "1", "resolved_status": "999", "escalated_status": ""})
    assert response.status_code == 400
    conn.refresh_from_db()
    assert conn.resolved_status_id == 104  # a status not on the board changes nothing


def test_member_mapping_by_email_and_by_hand(tenant_a, client, connect, fake_connectwise):
    connect(tenant_a.account)
    fake_connectwise.members[0]["primaryEmail"] = tenant_a.engineer.email
    client.force_login(tenant_a.admin)
    page = client.post(URL + "members/match/", follow=True).content.decode()
    assert "Matched by e-mail: 1" in page
    row = PSAMember.objects.get(user=tenant_a.engineer)
    assert (row.member_id, row.member_identifier, row.match) == (176, "dana", "email")
    assert PSAMember.objects.get(user=tenant_a.l1).match == "none"
    page = client.get(URL + "members/").content.decode()
    assert "Matched by e-mail" in page and "Dana Ortiz (dana)" in page and tenant_a.l1.email in page
    client.post(URL + "members/", {"user": tenant_a.l1.pk, "member": "177"})
    row = PSAMember.objects.get(user=tenant_a.l1)
    assert (row.member_id, row.match, row.matched_by) == (177, "manual", tenant_a.admin)
    # A member assigned by hand survives matching by e-mail again.
    client.post(URL + "members/match/")
    assert PSAMember.objects.get(user=tenant_a.l1).match == "manual"


def test_another_accounts_people_and_connection_are_never_reached(tenant_a, tenant_b, client, connect,
                                                                  fake_connectwise):  # fmt: skip
    connect(tenant_a.account)
    client.force_login(tenant_b.admin)
    page = client.get(URL).content.decode()
    assert fake_connectwise.site not in page and "Connect" in page
    assert client.post(URL + "test/").status_code == 404
    assert client.post(URL + "members/", {"user": tenant_a.engineer.pk, "member": "176"}).status_code == 404
    assert not PSAMember.objects.exists()
    client.force_login(tenant_a.admin)
    assert client.post(URL + "members/", {"user": tenant_b.engineer.pk, "member": "176"}).status_code == 404
    assert tenant_b.engineer.email not in client.get(URL + "members/").content.decode()


def test_disconnect(tenant_a, client, connect, fake_connectwise):
    connect(tenant_a.account)
    client.force_login(tenant_a.owner)
    client.post(URL + "disconnect/")
    assert not PSAConnection.objects.exists()
    assert AuditLog.objects.filter(action="psa.connection.delete").exists()


def test_a_server_without_a_client_id_is_said_before_any_call(tenant_a, client, fake_connectwise, settings):
    settings.CONNECTWISE_CLIENT_ID = ""
    client.force_login(tenant_a.admin)
    page = client.post(URL, _form(fake_connectwise), follow=True).content.decode()
    assert "The server has no CONNECTWISE_CLIENT_ID" in page and fake_connectwise.requests == []


def test_the_pages_cost_a_fixed_number_of_queries(tenant_a, client, connect, fake_connectwise,
                                                  django_assert_max_num_queries):  # fmt: skip
    connect(tenant_a.account, last_test_ok=True, board_id=1)
    client.force_login(tenant_a.admin)
    client.post(URL + "members/match/")
    for n in range(12):
        UserFactory(account=tenant_a.account, email=f"extra{n}@acme.test")
    with django_assert_max_num_queries(6):
        assert client.get(URL + "members/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(URL).status_code == 200


def test_the_first_connection_needs_the_private_key(tenant_a, client, fake_connectwise):
    client.force_login(tenant_a.admin)
    response = client.post(URL, _form(fake_connectwise, private_key=""))
    assert response.status_code == 400 and "Give the API member&#x27;s private key." in response.content.decode()
    assert not PSAConnection.objects.exists() and fake_connectwise.requests == []


def test_a_new_site_host_needs_the_private_key_again(tenant_a, client, connect, fake_connectwise):
    """The stored key goes to whatever host the site names: changing the site without typing the key
    again would send it to a host of the editor's choosing (where it can be read off the header)."""
    connect(tenant_a.account, last_test_ok=True)
    client.force_login(tenant_a.admin)
    with FakeConnectWise() as elsewhere:  # any host an admin could name, recording what it is sent
        response = client.post(URL, _form(fake_connectwise, site=elsewhere.site, private_key=""))
        assert response.status_code == 400
        assert "A new site host needs the private key again" in html.unescape(response.content.decode())
        assert not [r for r in elsewhere.requests if "authorization" in r["headers"]]
        assert elsewhere.requests == []
    conn = PSAConnection.objects.get(account=tenant_a.account)
    assert conn.site == fake_connectwise.site  # nothing changed
    # The same site without the key keeps it; a new site with the key typed again is saved.
    assert client.post(URL, _form(fake_connectwise, private_key="")).status_code == 302
    with FakeConnectWise() as elsewhere:
        assert client.post(URL, _form(fake_connectwise, site=elsewhere.site)).status_code == 302
        assert PSAConnection.objects.get(account=tenant_a.account).site == elsewhere.site
