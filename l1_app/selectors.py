"""Reads of l1_app."""

from django.db.models import QuerySet

from .models import L1Category


def l1_categories_allowed(*, account_id: int) -> QuerySet[L1Category]:
    """The account's allowlist: the categories an AI-built walk may start from, in their order."""
    return L1Category.objects.filter(account_id=account_id, allowed=True)
