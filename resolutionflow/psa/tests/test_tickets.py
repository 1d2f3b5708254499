import pytest

from resolutionflow.accounts.models import AuditLog
from resolutionflow.errors import Conflict
from resolutionflow.psa.client import NotConnectedPSA, PSANotConnected, psa_client_for_account
from resolutionflow.psa.models import InternalTicket
from resolutionflow.psa.services import internal_ticket_create, internal_ticket_post_note, internal_ticket_set_status
from sessions_app.services import lifecycle
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db


def test_create_ticket_through_the_page(tenant_a, client):
    client.force_login(tenant_a.engineer)
    response = client.post(
        "/tickets/new/", {"title": "  Outlook keeps asking for a password ", "description": "Since Monday"}
    )
    ticket = InternalTicket.objects.get(account=tenant_a.account)
    assert response.status_code == 302 and response["Location"] == f"/tickets/INT-{ticket.number}/"
    assert (ticket.title, ticket.status, ticket.created_by) == (
        "Outlook keeps asking for a password",
        "open",
        tenant_a.engineer,
    )


def test_ticket_without_title_is_refused_with_a_message(tenant_a, client):
    client.force_login(tenant_a.engineer)
    response = client.post("/tickets/new/", {"title": "   ", "description": "x"})
    assert response.status_code == 400
    assert "Give the ticket a title." in response.content.decode()
    assert not InternalTicket.objects.exists()


def test_ticket_numbers_are_per_account(tenant_a, tenant_b):
    a1 = internal_ticket_create(account=tenant_a.account, title="a1", actor=tenant_a.engineer)
    a2 = internal_ticket_create(account=tenant_a.account, title="a2", actor=tenant_a.engineer)
    b1 = internal_ticket_create(account=tenant_b.account, title="b1", actor=tenant_b.engineer)
    assert (a1.reference, a2.reference, b1.reference) == ("INT-1", "INT-2", "INT-1")


def test_list_filters_and_isolates(tenant_a, tenant_b, client, django_assert_max_num_queries):
    for i in range(12):
        internal_ticket_create(account=tenant_a.account, title=f"Ticket {i}", actor=tenant_a.engineer)
    internal_ticket_create(account=tenant_b.account, title="Foreign ticket", actor=tenant_b.engineer)
    resolved = InternalTicket.objects.filter(account=tenant_a.account).first()
    internal_ticket_set_status(ticket=resolved, status="resolved", actor=tenant_a.engineer, resolution_notes="Fixed")
    client.force_login(tenant_a.l1)
    with django_assert_max_num_queries(8):
        page = client.get("/tickets/").content.decode()
    assert "Ticket 11" in page and "Foreign ticket" not in page
    filtered = client.get("/tickets/?status=resolved").content.decode()
    assert resolved.title in filtered and "Ticket 0<" not in filtered


def test_other_accounts_ticket_is_404(tenant_a, tenant_b, client):
    internal_ticket_create(account=tenant_a.account, title="Mine", actor=tenant_a.engineer)
    internal_ticket_create(account=tenant_a.account, title="Mine too", actor=tenant_a.engineer)
    client.force_login(tenant_b.engineer)
    assert client.get("/tickets/INT-2/").status_code == 404
    client.force_login(tenant_a.engineer)
    assert client.get("/tickets/INT-2/").status_code == 200


def test_notes_show_on_the_ticket(tenant_a, client):
    ticket = internal_ticket_create(account=tenant_a.account, title="VPN", actor=tenant_a.engineer)
    internal_ticket_post_note(ticket=ticket, body="## Problem\nVPN drops", kind="resolution", actor=tenant_a.engineer)
    client.force_login(tenant_a.engineer)
    page = client.get(f"/tickets/INT-{ticket.number}/").content.decode()
    assert "VPN drops" in page and "Resolution" in page


def test_status_change_is_audited_and_unknown_status_refused(tenant_a):

    ticket = internal_ticket_create(account=tenant_a.account, title="VPN", actor=tenant_a.engineer)
    internal_ticket_set_status(ticket=ticket, status="escalated", actor=tenant_a.engineer)
    assert AuditLog.objects.filter(action="internal_ticket.escalated", object_id=str(ticket.pk)).exists()
    with pytest.raises(Conflict):
        internal_ticket_set_status(ticket=ticket, status="deleted", actor=tenant_a.engineer)
    ticket.refresh_from_db()
    assert ticket.status == "escalated"


def test_psa_not_connected_never_pretends(tenant_a):
    client = psa_client_for_account(tenant_a.account)
    assert isinstance(client, NotConnectedPSA)
    for call in (
        lambda: client.fetch_ticket_context("12345"),
        lambda: client.post_note("12345", body="x", kind="resolution"),
        lambda: client.change_status("12345", status_id="5"),
    ):
        with pytest.raises(PSANotConnected) as err:
            call()
        assert "not connected" in err.value.message.lower()


def test_a_posted_note_is_rendered_once_and_sanitised(tenant_a, client):
    """Issue #10.6: the resolution note showed as raw markdown, under Resolution and again in Notes."""

    ticket = internal_ticket_create(account=tenant_a.account, title="Outlook", actor=tenant_a.engineer)
    session = AISessionFactory(owner=tenant_a.engineer, internal_ticket=ticket)
    note = "## Problem\nOutlook prompts\n\n## Resolution\nCleared the **stale** token <script>alert(1)</script>"
    lifecycle.session_resolve(session=session, actor=tenant_a.engineer, code="fixed", summary="Cleared it", note=note)
    client.force_login(tenant_a.engineer)

    body = client.get(f"/tickets/{ticket.reference}/").content.decode()

    assert body.count("Cleared the <strong>stale</strong> token") == 1
    assert "## Resolution" not in body and "<script>alert(1)" not in body
    assert "The resolution note, shown above under “Resolution note”." in body


def test_a_session_starts_from_a_ticket_page(tenant_a, client):
    """Issue #10.6: from an open ticket, one click starts a session on it."""
    ticket = internal_ticket_create(account=tenant_a.account, title="Printer", actor=tenant_a.engineer)
    client.force_login(tenant_a.engineer)
    body = client.get(f"/tickets/{ticket.reference}/").content.decode()
    start = f'href="/sessions/new/?ticket={ticket.pk}"'
    assert start in body
    form = client.get(f"/sessions/new/?ticket={ticket.pk}").content.decode()
    assert 'value="internal_ticket" id="id_intake_type_2" required checked' in form or (
        'value="internal_ticket"' in form and "checked" in form.split('value="internal_ticket"', 1)[1].split(">", 1)[0]
    )
    assert f'<option value="{ticket.pk}" selected>' in form
