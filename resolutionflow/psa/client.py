"""The PSA interface. A ConnectWise client implements it in a later issue; until an account
connects a PSA, `psa_client_for_account` returns a client that says "not connected" for every
call instead of pretending the ticket was reached."""

from dataclasses import dataclass, field
from typing import Protocol

from resolutionflow.errors import ExternalServiceError


class PSANotConnected(ExternalServiceError):
    status_code = 409
    default_message = "PSA not connected: this account has no PSA, so the ticket cannot be reached."


@dataclass(frozen=True)
class TicketContext:
    ticket_ref: str
    summary: str
    company: str = ""
    priority: str = ""
    status: str = ""
    recent_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PostResult:
    external_id: str


class PSAClient(Protocol):
    name: str

    def fetch_ticket_context(self, ticket_ref: str) -> TicketContext: ...

    def post_note(self, ticket_ref: str, *, body: str, kind: str) -> PostResult: ...

    def change_status(self, ticket_ref: str, *, status_id: str) -> None: ...


class NotConnectedPSA:
    """Every call raises PSANotConnected."""

    name = "none"
    connected = False

    def fetch_ticket_context(self, ticket_ref: str) -> TicketContext:
        raise PSANotConnected()

    def post_note(self, ticket_ref: str, *, body: str, kind: str) -> PostResult:
        raise PSANotConnected()

    def change_status(self, ticket_ref: str, *, status_id: str) -> None:
        raise PSANotConnected()


def psa_client_for_account(account) -> PSAClient:
    """The account's PSA client. No PSA connection exists yet, so: not connected."""
    return NotConnectedPSA()
