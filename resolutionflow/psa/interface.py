"""The PSA interface (SPEC §9): what a PSA client does and the values it answers."""

from dataclasses import dataclass, field
from datetime import datetime
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
    board: str = ""
    contact: str = ""
    recent_notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PostResult:
    external_id: str


@dataclass(frozen=True)
class StatusChange:
    before: str
    after: str


class PSAClient(Protocol):
    name: str
    connected: bool

    def fetch_ticket_context(self, ticket_ref: str) -> TicketContext: ...

    def post_note(self, ticket_ref: str, *, body: str, kind: str, member_id: int | None = None) -> PostResult:
        """kind: `resolution` (customer-visible), `internal_analysis` or `detail`."""

    def change_status(self, ticket_ref: str, *, status_id: int, status_name: str = "") -> StatusChange:
        """Move the ticket and read it back; raises when the status did not change."""

    def board_statuses(self, board_id: int) -> list[dict]: ...

    def add_time_entry(
        self, ticket_ref: str, *, start: datetime, end: datetime, notes: str, member_id: int | None = None
    ) -> PostResult: ...

    def member_by_email(self, email: str) -> dict | None: ...
