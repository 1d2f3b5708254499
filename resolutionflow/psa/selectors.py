from django.db.models import Count, QuerySet

from resolutionflow.accounts.models import User
from resolutionflow.accounts.tenancy import get_for_account
from resolutionflow.errors import ExternalServiceError

from .connectwise import ConnectWiseClient
from .models import InternalTicket, PSAConnection, PSAMember


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


def psa_connection_for(*, account_id: int) -> PSAConnection | None:
    """The account's ConnectWise connection, or None."""
    return PSAConnection.objects.filter(account_id=account_id).first()


def psa_member_rows(*, account_id: int) -> list[tuple[User, PSAMember | None]]:
    """Every active user of the account with their ConnectWise member mapping (two queries)."""
    users = list(User.objects.for_account(account_id).usable().order_by("full_name", "email"))
    mapped = {m.user_id: m for m in PSAMember.objects.for_account(account_id).filter(user__in=users)}
    return [(user, mapped.get(user.pk)) for user in users]


def psa_board_choices(*, connection: PSAConnection, board_id: int | None) -> tuple[list[dict], list[dict], str]:
    """(boards, the statuses of `board_id`, what failed) read from ConnectWise for the settings page."""
    client = ConnectWiseClient(connection)
    try:
        boards = [{"id": b["id"], "name": b.get("name", str(b["id"]))} for b in client.boards()]
        statuses = (
            [{"id": s["id"], "name": s.get("name", str(s["id"]))} for s in client.board_statuses(board_id)]
            if board_id
            else []
        )
    except ExternalServiceError as exc:
        return [], [], exc.message
    return boards, statuses, ""


def psa_member_choices(*, connection: PSAConnection) -> tuple[list[dict], str]:
    """The account's active ConnectWise members, or none and what failed."""
    try:
        return ConnectWiseClient(connection).members(), ""
    except ExternalServiceError as exc:
        return [], exc.message
