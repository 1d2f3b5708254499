"""The ConnectWise client against the fake ConnectWise over real HTTP (issue #15 §2, §6)."""

import base64
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from resolutionflow.errors import InvalidInput
from resolutionflow.psa.client import NotConnectedPSA, psa_client_for_account
from resolutionflow.psa.connectwise import ConnectWiseClient, ConnectWiseError
from resolutionflow.psa.crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from resolutionflow.psa.management.commands.fake_connectwise import describe
from resolutionflow.psa.models import PSAConnection

pytestmark = pytest.mark.django_db


def test_auth_header_client_id_and_codebase_discovery(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    assert isinstance(client, ConnectWiseClient)
    client.ticket("48213")
    info, call = fake_connectwise.requests
    assert (info["method"], info["path"]) == ("GET", "login/companyinfo/northwind")
    assert "authorization" not in info["headers"]  # companyinfo needs none
    expected = base64.b64encode(b"northwind+pub-fake-0001:priv-fake-secret-0001").decode()
    assert call["headers"]["authorization"] == f"Basic {expected}"
    assert call["headers"]["clientid"] == "fake-client-id"
    assert (call["method"], call["path"]) == ("GET", "service/tickets/48213")
    # The codebase is cached on the connection: a second client asks companyinfo no more.
    assert PSAConnection.objects.get(account=tenant_a.account).codebase == "v4_6_release"
    psa_client_for_account(tenant_a.account).ticket("48214")
    assert len(fake_connectwise.calls("GET", "login/companyinfo/*")) == 1


def test_codebase_is_read_again_when_the_site_changes(tenant_a, connect, fake_connectwise):
    conn = connect(tenant_a.account, codebase="v2019_old", codebase_site="old.example.com")
    ConnectWiseClient(conn).ticket("48213")
    assert len(fake_connectwise.calls("GET", "login/companyinfo/*")) == 1
    assert fake_connectwise.requests[-1]["path"] == "service/tickets/48213"


def test_ticket_context(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    ctx = psa_client_for_account(tenant_a.account).fetch_ticket_context("#48213")
    assert ctx.summary == "Outlook keeps asking for the password"
    assert (ctx.company, ctx.priority, ctx.status, ctx.board) == (
        "Contoso Dental", "Priority 2 - High", "New", "Service Desk",
    )  # fmt: skip
    assert ctx.recent_notes == [  # newest first
        "Checked: the account is not locked in AD.",
        "Customer says it started after the password change on Monday.",
    ]
    notes_call = fake_connectwise.calls("GET", "service/tickets/48213/notes")[0]
    assert notes_call["query"]["page"] == "1" and notes_call["query"]["pageSize"] == "5"


def test_note_request_bodies_and_the_flag_rule(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    client.post_note("48213", body="Fixed it", kind="resolution", member_id=176)
    client.post_note("48213", body="Package", kind="internal_analysis")
    first, second = (r["json"] for r in fake_connectwise.calls("POST", "service/tickets/48213/notes"))
    assert first == {"text": "Fixed it", "resolutionFlag": True, "internalAnalysisFlag": False,
                     "detailDescriptionFlag": False, "member": {"id": 176}}  # fmt: skip
    assert second == {"text": "Package", "resolutionFlag": False, "internalAnalysisFlag": True,
                      "detailDescriptionFlag": False}  # fmt: skip
    stored = fake_connectwise.notes[48213][-2:]
    assert [n["resolutionFlag"] for n in stored] == [True, False]


def test_status_patch_is_a_json_patch_and_is_read_back(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    change = client.change_status("48213", status_id=104, status_name="Resolved")
    assert (change.before, change.after) == ("New", "Resolved")
    patch = fake_connectwise.calls("PATCH", "service/tickets/48213")[0]
    assert patch["json"] == [{"op": "replace", "path": "status", "value": {"id": 104}}]
    assert fake_connectwise.requests[-1]["method"] == "GET"  # read back after the patch


def test_a_status_that_silently_does_not_stick_is_a_loud_failure(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    fake_connectwise.keep_status = True
    with pytest.raises(ConnectWiseError) as err:
        psa_client_for_account(tenant_a.account).change_status("48213", status_id=104, status_name="Resolved")
    assert err.value.kind == "status_kept"
    assert "ConnectWise kept status New" in err.value.message and "a workflow rule may block it" in err.value.message


def test_time_entry_and_member_lookup_shapes(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    start = datetime(2026, 11, 27, 9, 0, 0, 123456, tzinfo=UTC)
    client.add_time_entry("48213", start=start, end=start + timedelta(minutes=42), notes="Session", member_id=176)
    body = fake_connectwise.calls("POST", "time/entries")[0]["json"]
    assert body == {"chargeToId": 48213, "chargeToType": "ServiceTicket", "timeStart": "2026-11-27T09:00:00Z",
                    "timeEnd": "2026-11-27T09:42:00Z", "notes": "Session", "member": {"id": 176}}  # fmt: skip
    assert fake_connectwise.time_entries[0]["id"]
    member = client.member_by_email("Dana@Northwind.example")
    assert member["identifier"] == "dana"
    call = fake_connectwise.calls("GET", "system/members")[0]
    assert call["query"]["conditions"] == 'primaryEmail="Dana@Northwind.example"'
    assert client.member_by_email("nobody@northwind.example") is None


def test_lists_are_read_page_by_page(tenant_a, connect, fake_connectwise, monkeypatch):
    monkeypatch.setattr("resolutionflow.psa.connectwise.PAGE_SIZE", 2)
    connect(tenant_a.account)
    statuses = psa_client_for_account(tenant_a.account).board_statuses(1)
    assert [s["name"] for s in statuses] == ["New", "In Progress", "Escalated to L3", "Resolved", "Closed"]
    pages = [c["query"]["page"] for c in fake_connectwise.calls("GET", "service/boards/1/statuses")]
    assert pages == ["1", "2", "3"]


def test_429_waits_for_retry_after_and_the_retries_are_bounded(tenant_a, connect, fake_connectwise, settings):
    connect(tenant_a.account)
    fake_connectwise.fail_next("GET", "service/tickets/48213", 429, retry_after=1)
    started = time.monotonic()
    assert psa_client_for_account(tenant_a.account).ticket("48213")["id"] == 48213
    assert time.monotonic() - started >= 0.9
    assert len(fake_connectwise.calls("GET", "service/tickets/48213")) == 2
    fake_connectwise.fail_next("GET", "service/tickets/48213", 429, retry_after=0, times=10)
    with pytest.raises(ConnectWiseError) as err:
        psa_client_for_account(tenant_a.account).ticket("48213")
    assert err.value.kind == "rate_limited"
    assert len(fake_connectwise.calls("GET", "service/tickets/48213")) == 2 + 1 + settings.CONNECTWISE_MAX_RETRIES
    # A Retry-After longer than the client may wait is not waited for.
    fake_connectwise.reset()
    fake_connectwise.fail_next("GET", "service/tickets/48213", 429, retry_after=600)
    started = time.monotonic()
    with pytest.raises(ConnectWiseError, match="429"):
        psa_client_for_account(tenant_a.account).ticket("48213")
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, "auth", "ConnectWise refused the keys (401)"),
        (403, "permission", "The API member may not read ticket #48213 (403)"),
        (404, "not_found", "ConnectWise has no ticket #48213 (404)"),
        (500, "server", "ConnectWise failed on ticket #48213 (500)"),
    ],
)
def test_error_bodies_become_clear_messages(tenant_a, connect, fake_connectwise, status, kind, words):
    connect(tenant_a.account)
    fake_connectwise.fail_next("GET", "service/tickets/48213", status, message="Said by the fake")
    with pytest.raises(ConnectWiseError) as err:
        psa_client_for_account(tenant_a.account).ticket("48213")
    assert err.value.kind == kind and words in err.value.message
    assert "Said by the fake" in err.value.message


def test_bad_keys_wrong_company_wrong_host_and_a_slow_answer(tenant_a, connect, fake_connectwise, settings):
    conn = connect(tenant_a.account, private_key="wrong-private-key")
    with pytest.raises(ConnectWiseError) as err:
        ConnectWiseClient(conn).check()
    assert err.value.kind == "auth" and "wrong-private-key" not in err.value.message
    conn.company_id, conn.codebase = "contoso", ""
    with pytest.raises(ConnectWiseError, match="knows no company 'contoso': check the company id"):
        ConnectWiseClient(conn).check()
    conn.site = "127.0.0.1:1"  # nothing listens there
    with pytest.raises(ConnectWiseError, match="could not be reached .*check the site host") as err:
        ConnectWiseClient(conn).check()
    assert err.value.kind == "host"
    conn = PSAConnection.objects.get(pk=conn.pk)
    settings.CONNECTWISE_TIMEOUT = 0.3
    fake_connectwise.fail_next("GET", "service/tickets/48213", 0, delay=1.0)
    with pytest.raises(ConnectWiseError, match="did not answer within 0.3 s") as err:
        ConnectWiseClient(conn, private_key=fake_connectwise.private_key).ticket("48213")
    assert err.value.kind == "timeout"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_site_on_a_local_or_private_address_is_never_called(tenant_a, connect, fake_connectwise, settings, host):
    """In production (no CONNECTWISE_HTTP_HOSTS) a site naming the server's own network is refused
    before any request: an admin cannot make the server probe it (the answers' status codes and
    errors would say what listens there)."""
    settings.CONNECTWISE_HTTP_HOSTS = []
    conn = connect(tenant_a.account, site=f"{host}:{fake_connectwise.port}")
    for call in (lambda c: c.check(), lambda c: c.ticket("48213")):
        with pytest.raises(ConnectWiseError, match="is a private or local address, which is never called") as err:
            call(ConnectWiseClient(conn))
        assert err.value.kind == "host" and "127.0.0.1" not in err.value.message.replace(conn.site, "")
    assert fake_connectwise.requests == []
    for address in ("10.0.0.5", "169.254.169.254", "192.168.1.10"):
        conn.site = address
        with pytest.raises(ConnectWiseError, match="private or local address"):
            ConnectWiseClient(conn).check()


def test_a_wrong_ticket_number_is_refused_before_any_call(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    with pytest.raises(InvalidInput, match="digits only"):
        psa_client_for_account(tenant_a.account).ticket("INC-12")
    assert fake_connectwise.requests == []


def test_the_private_key_is_encrypted_at_rest(tenant_a, connect, fake_connectwise):
    conn = connect(tenant_a.account)
    with db.cursor() as cursor:
        cursor.execute("SELECT private_key_encrypted FROM psa_psaconnection WHERE id = %s", [conn.pk])
        (raw,) = cursor.fetchone()
    assert fake_connectwise.private_key not in raw and raw.startswith("gAAAA")
    assert secret_decrypt(raw) == fake_connectwise.private_key


def test_key_rotation_re_encrypts_with_the_first_key(tenant_a, tenant_b, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PSA_ENCRYPTION_KEYS = [old]
    a = PSAConnection.objects.create(account=tenant_a.account, site="a.example.com", company_id="a", public_key="p",
                                     private_key_encrypted=secret_encrypt("secret-a"))  # fmt: skip
    b = PSAConnection.objects.create(account=tenant_b.account, site="b.example.com", company_id="b", public_key="p",
                                     private_key_encrypted=secret_encrypt("secret-b"))  # fmt: skip
    settings.PSA_ENCRYPTION_KEYS = [new, old]
    call_command("psa_rotate_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.PSA_ENCRYPTION_KEYS = [new]  # the old key is gone: the stored secrets still decrypt
    for conn, secret in ((a, "secret-a"), (b, "secret-b")):
        conn.refresh_from_db()
        assert secret_decrypt(conn.private_key_encrypted) == secret
    settings.PSA_ENCRYPTION_KEYS = [old]
    with pytest.raises(SecretUnreadable):
        secret_decrypt(a.private_key_encrypted)


def test_another_accounts_connection_is_never_used(tenant_a, tenant_b, connect, fake_connectwise):
    connect(tenant_a.account)
    assert isinstance(psa_client_for_account(tenant_b.account), NotConnectedPSA)


def test_the_demo_commands_log_line_says_what_was_posted_and_never_the_key(tenant_a, connect, fake_connectwise):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    client.post_note("48213", body="## Problem\nx", kind="resolution", member_id=176)
    client.change_status("48213", status_id=104, status_name="Resolved")
    lines = [describe(entry) for entry in fake_connectwise.requests]
    assert "POST service/tickets/48213/notes  [resolutionFlag] member=176 '## Problem'" in lines
    assert lines[-3:] == [
        "GET service/tickets/48213  (status: New)",
        "PATCH service/tickets/48213  status -> 104",
        "GET service/tickets/48213  (status: Resolved)",
    ]
    assert not any(fake_connectwise.private_key in line or "Basic" in line for line in lines)


def test_the_fake_refuses_a_note_without_a_flag_and_a_request_without_the_client_id(
    tenant_a, connect, fake_connectwise, settings
):
    connect(tenant_a.account)
    client = psa_client_for_account(tenant_a.account)
    with pytest.raises(ConnectWiseError) as err:
        client._call("POST", "service/tickets/48213/notes", what="the notes of ticket #48213", json={"text": "x"})
    assert err.value.kind == "invalid" and "At least one of detailDescriptionFlag" in err.value.message
    assert "A note type flag is required" in err.value.message  # the `errors` list is read too
    settings.CONNECTWISE_CLIENT_ID = "someone-elses-client-id"
    with pytest.raises(ConnectWiseError, match="refused the keys .*A valid clientId header is required"):
        client.ticket("48213")
