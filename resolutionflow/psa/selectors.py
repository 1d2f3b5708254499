from django.db.models import Count, QuerySet

from resolutionflow.accounts.models import User
from resolutionflow.accounts.tenancy import get_for_account

from .models import InternalTicket


def internal_ticket_list(*, user: User, status: str = "") -> QuerySet[InternalTicket]:
    qs = InternalTicket.objects.for_account(user.account_id).select_related("created_by")
    if status:
        qs = qs.filter(status=status)
    return qs.annotate(note_count=Count("notes")).order_by("-number")


def internal_ticket_get(*, user: User, number: int) -> InternalTicket:
    return get_for_account(
        InternalTicket.objects.select_related("created_by").prefetch_related("notes__author"),
        account=user.account_id,
        number=number,
    )
