"""Across accounts the answer is 404, exactly as for a missing object."""

import pytest

from resolutionflow.accounts import services
from resolutionflow.accounts.models import AccountSettings, AuditLog, Notification
from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.errors import NotFound
from resolutionflow.psa.models import InternalTicket
from resolutionflow.psa.services import internal_ticket_create

pytestmark = pytest.mark.django_db


def test_lookup_helper_returns_own_object(tenant_a):
    ticket = internal_ticket_create(account=tenant_a.account, title="Printer offline", actor=tenant_a.engineer)
    assert get_for_account(type(ticket), account=tenant_a.account, pk=ticket.pk) == ticket


def test_lookup_helper_treats_foreign_and_missing_alike(tenant_a, tenant_b):
    ticket = internal_ticket_create(account=tenant_a.account, title="Printer offline", actor=tenant_a.engineer)
    with pytest.raises(NotFound) as foreign:
        get_for_account(type(ticket), account=tenant_b.account, pk=ticket.pk)
    with pytest.raises(NotFound) as missing:
        get_for_account(type(ticket), account=tenant_b.account, pk=ticket.pk + 1000)
    assert foreign.value.message == missing.value.message


def test_lookup_helper_rejects_malformed_ids_as_not_found(tenant_a):

    with pytest.raises(NotFound):
        get_for_account(InternalTicket, account=tenant_a.account, pk="not-a-number")


def test_for_account_queryset_never_returns_other_rows(tenant_a, tenant_b):

    internal_ticket_create(account=tenant_a.account, title="A", actor=tenant_a.engineer)
    internal_ticket_create(account=tenant_b.account, title="B", actor=tenant_b.engineer)
    assert list(InternalTicket.objects.for_account(tenant_b.account).values_list("title", flat=True)) == ["B"]


def test_account_settings_created_lazily_and_merged(tenant_a):
    assert not AccountSettings.objects.filter(account=tenant_a.account).exists()
    row = services.account_settings_get(account=tenant_a.account)
    assert row.preferences == {}
    services.account_settings_update(
        account=tenant_a.account, changes={"resolved_status_id": "5", "templatize_prompt": True}, actor=tenant_a.owner
    )
    services.account_settings_update(
        account=tenant_a.account, changes={"templatize_prompt": False}, actor=tenant_a.owner
    )
    row.refresh_from_db()
    assert row.preferences == {"resolved_status_id": "5", "templatize_prompt": False}
    assert AccountSettings.objects.filter(account=tenant_a.account).count() == 1
    assert AuditLog.objects.filter(account=tenant_a.account, action="account_settings.update").count() == 2


def test_audit_row_names_who_what_and_acting_as(tenant_a):
    ticket = internal_ticket_create(account=tenant_a.account, title="VPN drops", actor=tenant_a.coverage_engineer)
    row = services.audit_record(
        account=tenant_a.account,
        actor=tenant_a.coverage_engineer,
        action="l1_walk.resolve",
        obj=ticket,
        acting_as=tenant_a.coverage_engineer.l1_acting_as,
        details={"helpful": True},
    )
    row.refresh_from_db()
    assert (row.actor, row.acting_as, row.object_type, row.object_id, row.details) == (
        tenant_a.coverage_engineer,
        "l1_coverage",
        "psa.internalticket",
        str(ticket.pk),
        {"helpful": True},
    )
    assert row.created_at is not None


def test_notifications_never_cross_accounts_or_reach_unusable_users(tenant_a, tenant_b):
    services.user_deactivate(user=tenant_a.l1, actor=tenant_a.admin)
    created = services.notification_send(
        account=tenant_a.account,
        recipients=[tenant_a.engineer, tenant_a.l1, tenant_b.engineer],
        kind="escalation",
        title="Session escalated",
    )
    assert [n.recipient for n in created] == [tenant_a.engineer]
    assert not Notification.objects.filter(recipient__in=[tenant_a.l1, tenant_b.engineer]).exists()
