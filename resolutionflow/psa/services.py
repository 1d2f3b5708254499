from django.db import transaction
from django.db.models import Max

from resolutionflow.accounts.models import Account, User
from resolutionflow.accounts.services import audit_record
from resolutionflow.errors import Conflict

from .models import InternalTicket, InternalTicketNote


@transaction.atomic
def internal_ticket_create(*, account: Account, title: str, description: str = "", actor: User) -> InternalTicket:
    # Locking the account row serialises numbering, so two tickets never share a number.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    last = InternalTicket.objects.filter(account=account).aggregate(n=Max("number"))["n"] or 0
    ticket = InternalTicket(
        account=account, number=last + 1, title=title.strip(), description=description.strip(), created_by=actor
    )
    ticket.full_clean()
    ticket.save()
    audit_record(account=account, actor=actor, action="internal_ticket.create", obj=ticket)
    return ticket


@transaction.atomic
def internal_ticket_post_note(
    *, ticket: InternalTicket, body: str, kind: str, actor: User | None
) -> InternalTicketNote:
    note = InternalTicketNote(account_id=ticket.account_id, ticket=ticket, body=body, kind=kind, author=actor)
    note.full_clean()
    note.save()
    return note


@transaction.atomic
def internal_ticket_set_status(
    *, ticket: InternalTicket, status: str, actor: User, resolution_notes: str = ""
) -> InternalTicket:
    if status not in InternalTicket.Status.values:
        raise Conflict(f"Unknown ticket status {status!r}.")
    ticket.status = status
    fields = ["status", "updated_at"]
    if resolution_notes:
        ticket.resolution_notes = resolution_notes
        fields.append("resolution_notes")
    ticket.save(update_fields=fields)
    audit_record(account=ticket.account, actor=actor, action=f"internal_ticket.{status}", obj=ticket)
    return ticket
