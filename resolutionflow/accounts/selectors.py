"""Reads for accounts, always inside the user's account."""

from django.db.models import QuerySet

from .models import Notification, User
from .tenancy import get_for_account


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notification_list(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, account_id=user.account_id)


def notification_get_for_user(*, user: User, notification_id: int) -> Notification:
    """A user's own notification; anyone else's (same account or not) is NotFound."""
    return get_for_account(Notification.objects.filter(recipient=user), account=user.account_id, pk=notification_id)
