"""The PSA client of an account (SPEC §9). `psa_client_for_account` answers the account's ConnectWise
client when it has a connection (resolutionflow.psa.connectwise), else a client that says "not
connected" for every call instead of pretending the ticket was reached."""

from .connectwise import ConnectWiseClient
from .interface import PostResult, PSAClient, PSANotConnected, StatusChange, TicketContext
from .models import PSAConnection

__all__ = ["NotConnectedPSA", "PSAClient", "PSANotConnected", "PostResult", "StatusChange", "TicketContext",
           "psa_client_for_account"]  # fmt: skip


class NotConnectedPSA:
    """Every call raises PSANotConnected."""

    name = "none"
    connected = False

    def fetch_ticket_context(self, ticket_ref: str) -> TicketContext:
        raise PSANotConnected()

    def post_note(self, ticket_ref: str, *, body: str, kind: str, member_id: int | None = None) -> PostResult:
        raise PSANotConnected()

    def change_status(self, ticket_ref: str, *, status_id: int, status_name: str = "") -> StatusChange:
        raise PSANotConnected()

    def board_statuses(self, board_id: int) -> list[dict]:
        raise PSANotConnected()

    def add_time_entry(self, ticket_ref, *, start, end, notes, member_id=None) -> PostResult:
        raise PSANotConnected()

    def member_by_email(self, email: str) -> dict | None:
        raise PSANotConnected()


def psa_client_for_account(account) -> PSAClient:
    """The account's PSA client: ConnectWise when the account has a connection, else not connected."""
    account_id = account if isinstance(account, int) else account.pk
    connection = PSAConnection.objects.filter(account_id=account_id).first()
    if connection is None:
        return NotConnectedPSA()
    return ConnectWiseClient(connection)
