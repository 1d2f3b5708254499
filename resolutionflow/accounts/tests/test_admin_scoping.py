"""The Django admin shows each staff admin only their own account's rows."""

import pytest

from resolutionflow.accounts.models import AuditLog, Team, User
from resolutionflow.accounts.services import audit_record
from resolutionflow.psa.services import internal_ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(tenant_a, tenant_b):
    return (
        internal_ticket_create(account=tenant_a.account, title="Alpha printer", actor=tenant_a.engineer),
        internal_ticket_create(account=tenant_b.account, title="Beta mailbox", actor=tenant_b.engineer),
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/accounts/user/",
        "/admin/accounts/team/",
        "/admin/accounts/account/",
        "/admin/psa/internalticket/",
        "/admin/accounts/auditlog/",
    ],
)
def test_changelists_show_only_own_account(tenant_a, tenant_b, tickets, client, path):
    audit_record(account=tenant_b.account, actor=tenant_b.engineer, action="secret.action", obj=tickets[1])
    client.force_login(tenant_a.admin)
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    for foreign in (tenant_b.engineer.email, tenant_b.account.name, "Beta mailbox", "secret.action"):
        assert foreign not in page
    result_list = response.context["cl"].result_list
    for obj in result_list:
        account_id = obj.pk if path.endswith("/account/") else obj.account_id
        assert account_id == tenant_a.account.pk


def test_foreign_object_change_page_is_not_found(tenant_a, tenant_b, tickets, client):
    client.force_login(tenant_a.admin)
    for url in (
        f"/admin/psa/internalticket/{tickets[1].pk}/change/",
        f"/admin/accounts/user/{tenant_b.engineer.pk}/change/",
    ):
        response = client.get(url, follow=True)
        # Django admin redirects a missing object to the index with a message; never shows it.
        assert tenant_b.engineer.email not in response.content.decode()
        assert "Beta mailbox" not in response.content.decode()
        assert response.redirect_chain and response.redirect_chain[-1][0] == "/admin/"


def test_related_choices_are_scoped(tenant_a, tenant_b, client):
    Team.objects.create(account=tenant_b.account, name="Foreign team")
    client.force_login(tenant_a.admin)
    page = client.get(f"/admin/accounts/user/{tenant_a.engineer.pk}/change/").content.decode()
    assert "Service Desk" in page
    assert "Foreign team" not in page


def test_new_rows_are_stamped_with_the_admins_account(tenant_a, client):
    client.force_login(tenant_a.admin)
    response = client.post("/admin/accounts/team/add/", {"name": "Night shift"})
    assert response.status_code == 302
    assert Team.objects.get(name="Night shift").account == tenant_a.account


def test_users_are_never_hard_deleted_from_the_admin(tenant_a, client):
    client.force_login(tenant_a.admin)
    response = client.post(f"/admin/accounts/user/{tenant_a.engineer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=tenant_a.engineer.pk).exists()


def test_audit_log_is_read_only(tenant_a, client, tickets):
    row = audit_record(account=tenant_a.account, actor=tenant_a.engineer, action="x.y", obj=tickets[0])
    before = AuditLog.objects.count()
    client.force_login(tenant_a.owner)
    client.post(f"/admin/accounts/auditlog/{row.pk}/change/", {"action": "tampered"})
    row.refresh_from_db()
    assert row.action == "x.y"
    assert AuditLog.objects.count() == before
    assert client.post(f"/admin/accounts/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code == 403
