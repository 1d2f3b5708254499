"""Writes for accounts: settings, audit, notifications, user lifecycle."""

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from .models import Account, AccountSettings, AuditLog, Notification, User
from .tasks import notification_email_send


def account_settings_get(*, account: Account) -> AccountSettings:
    """The account's preferences row, created the first time it is asked for."""
    row, _ = AccountSettings.objects.get_or_create(account=account)
    return row


@transaction.atomic
def account_settings_update(*, account: Account, changes: dict[str, Any], actor: User) -> AccountSettings:
    """Merge `changes` into the preferences (keys not named keep their value)."""
    account_settings_get(account=account)
    row = AccountSettings.objects.select_for_update().get(account=account)
    row.preferences = {**row.preferences, **changes}
    row.save(update_fields=["preferences", "updated_at"])
    audit_record(
        account=account,
        actor=actor,
        action="account_settings.update",
        obj=row,
        details={"keys": sorted(changes)},
    )
    return row


def audit_record(
    *,
    account: Account,
    actor: User | None,
    action: str,
    obj: models.Model,
    acting_as: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """One audit row. Call it inside the service's transaction so both land or neither."""
    return AuditLog.objects.create(
        account=account,
        actor=actor,
        acting_as=acting_as or (actor.role if actor else "system"),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        details=details or {},
    )


@transaction.atomic
def notification_send(
    *,
    account: Account,
    recipients: "models.QuerySet[User] | list[User]",
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
) -> list[Notification]:
    """Notify usable users of `account` in-app (and by e-mail when configured).

    Recipients of another account, deactivated or soft-deleted, are skipped: a notification
    never crosses accounts and never reaches someone who cannot log in.
    """
    ids = [u.pk for u in recipients]
    users = User.objects.for_account(account).usable().filter(pk__in=ids)
    created = Notification.objects.bulk_create(
        [Notification(account=account, recipient=u, kind=kind, title=title[:200], body=body, url=url) for u in users]
    )
    if settings.NOTIFICATION_EMAILS:
        for n in created:
            transaction.on_commit(lambda pk=n.pk: notification_email_send.delay(pk))
    return created


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notification_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit_record(account=user.account, actor=actor, action="user.deactivate", obj=user)
    return user


@transaction.atomic
def user_soft_delete(*, user: User, actor: User) -> User:
    """Users who own history are never removed; they stop being able to log in."""
    user.deleted_at = timezone.now()
    user.is_active = False
    user.save(update_fields=["deleted_at", "is_active"])
    audit_record(account=user.account, actor=actor, action="user.soft_delete", obj=user)
    return user
