import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from resolutionflow.accounts.models import Account, User
from resolutionflow.accounts.services import audit_record
from resolutionflow.errors import Conflict, ExternalServiceError, InvalidInput, NotFound

from .client import PSANotConnected, psa_client_for_account
from .connectwise import ConnectWiseClient, ConnectWiseError
from .crypto import secret_encrypt, secret_rotate
from .models import InternalTicket, InternalTicketNote, PSAConnection, PSAMember


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


# --- The ConnectWise connection (issue #15) ----------------------------------------------------

_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$"
)


def site_clean(site: str) -> str:
    """The host alone, lower-cased; anything else (a scheme, a path, a space) is refused."""
    site = (site or "").strip().lower()
    if not site:
        raise InvalidInput("Give the ConnectWise site host, e.g. na.myconnectwise.net.", field="site")
    if "://" in site or "/" in site or "@" in site or not _HOST.match(site):
        raise InvalidInput("Give the host only, e.g. na.myconnectwise.net (no https://, no path).", field="site")
    return site


@sensitive_variables("private_key")
@transaction.atomic
def psa_connection_save(
    *, account: Account, site: str, company_id: str, public_key: str, private_key: str = "", actor: User
) -> PSAConnection:
    """Create or change the account's connection. An empty private key keeps the stored one; a
    new one is encrypted before it is saved. The cached codebase is dropped when the site or
    the company changes."""
    site = site_clean(site)
    company_id, public_key, private_key = company_id.strip(), public_key.strip(), private_key.strip()
    if not company_id:
        raise InvalidInput("Give the company id you log in to ConnectWise with.", field="company_id")
    if not public_key:
        raise InvalidInput("Give the API member's public key.", field="public_key")
    connection = PSAConnection.objects.select_for_update().filter(account=account).first()
    if connection is None and not private_key:
        raise InvalidInput("Give the API member's private key.", field="private_key")
    if connection is not None and connection.site != site and not private_key:
        # The stored key goes, in the Authorization header, to whatever host the site names: a new
        # host never gets it without the key typed again (no one can send it to a host of theirs).
        raise InvalidInput(
            "A new site host needs the private key again: the stored key is only sent to the site it was entered for.",
            field="private_key",
        )
    created = connection is None
    connection = connection or PSAConnection(account=account)
    if connection.site != site or connection.company_id != company_id:
        connection.codebase = connection.codebase_site = ""
    connection.site, connection.company_id, connection.public_key = site, company_id, public_key
    changed_keys = bool(private_key)
    if private_key:
        connection.private_key_encrypted = secret_encrypt(private_key)
    connection.last_test_ok, connection.last_tested_at, connection.last_test_message = None, None, ""
    connection.full_clean(exclude=["account"])
    connection.save()
    audit_record(
        account=account, actor=actor, action="psa.connection.create" if created else "psa.connection.update",
        obj=connection, details={"site": site, "company_id": company_id, "private_key_replaced": changed_keys},
    )  # fmt: skip
    return connection


def psa_connection_test(*, connection: PSAConnection, actor: User) -> tuple[bool, str]:
    """Call ConnectWise with the stored connection; record and answer what happened."""
    try:
        message = ConnectWiseClient(connection).check()
        ok = True
    except ExternalServiceError as exc:
        ok, message = False, exc.message
    PSAConnection.objects.filter(pk=connection.pk).update(
        last_test_ok=ok, last_tested_at=timezone.now(), last_test_message=message[:300]
    )
    connection.refresh_from_db()
    audit_record(account=connection.account, actor=actor, action="psa.connection.test", obj=connection,
                 details={"ok": ok})  # fmt: skip
    return ok, message


@transaction.atomic
def psa_statuses_set(
    *, connection: PSAConnection, board: dict | None, resolved: dict | None, escalated: dict | None, actor: User
) -> PSAConnection:
    """Keep the board and the two statuses chosen from its statuses (dicts of id and name, or None)."""
    connection = PSAConnection.objects.select_for_update().get(pk=connection.pk)
    connection.board_id, connection.board_name = (board["id"], board["name"][:100]) if board else (None, "")
    for name, status in (("resolved", resolved), ("escalated", escalated)):
        setattr(connection, f"{name}_status_id", status["id"] if status else None)
        setattr(connection, f"{name}_status_name", status["name"][:100] if status else "")
    connection.save()
    audit_record(
        account=connection.account, actor=actor, action="psa.connection.statuses", obj=connection,
        details={"board": connection.board_id, "resolved": connection.resolved_status_id,
                 "escalated": connection.escalated_status_id},
    )  # fmt: skip
    return connection


@transaction.atomic
def psa_connection_delete(*, connection: PSAConnection, actor: User) -> None:
    audit_record(account=connection.account, actor=actor, action="psa.connection.delete", obj=connection)
    connection.delete()


def psa_keys_rotate() -> int:
    """Re-encrypt every stored PSA secret with the first PSA_ENCRYPTION_KEYS key."""
    count = 0
    for pk in PSAConnection.objects.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            connection = PSAConnection.objects.select_for_update().get(pk=pk)
            connection.private_key_encrypted = secret_rotate(connection.private_key_encrypted)
            connection.save(update_fields=["private_key_encrypted", "updated_at"])
            count += 1
    return count


# --- Member mapping -----------------------------------------------------------------------------


def _member_save(*, user: User, member: dict | None, match: str, actor: User | None) -> PSAMember:
    """Record `member` (a ConnectWise member, or None: no member) as the user's, found by `match`."""
    if member:
        name = " ".join(filter(None, [member.get("firstName"), member.get("lastName")])) or member.get("identifier")
        identifier = str(member.get("identifier") or member["id"])[:64]
        fields = {"member_id": int(member["id"]), "member_identifier": identifier, "member_name": str(name or "")[:200],
                  "match": match}  # fmt: skip
    else:
        fields = {"member_id": None, "member_identifier": "", "member_name": "", "match": PSAMember.Match.NONE}
    row, _ = PSAMember.objects.update_or_create(
        user=user, defaults={**fields, "account_id": user.account_id, "matched_by": actor}
    )
    return row


def psa_member_match_by_email(*, client, user: User, actor: User | None = None) -> PSAMember:
    """Look the user's e-mail up among the ConnectWise members; record what was found (a member
    assigned by hand is kept)."""
    existing = PSAMember.objects.filter(user=user).first()
    if existing is not None and existing.match == PSAMember.Match.MANUAL:
        return existing
    return _member_save(user=user, member=client.member_by_email(user.email), match=PSAMember.Match.EMAIL, actor=actor)


def psa_members_match_all(*, account: Account, actor: User) -> tuple[int, int]:
    """Match every active user of the account by e-mail; (matched, not found)."""
    client = psa_client_for_account(account)
    if not client.connected:
        raise PSANotConnected()
    matched = missing = 0
    for user in User.objects.for_account(account.pk).usable().order_by("pk"):
        row = psa_member_match_by_email(client=client, user=user, actor=actor)
        matched += row.match != PSAMember.Match.NONE
        missing += row.match == PSAMember.Match.NONE
    with transaction.atomic():
        audit_record(account=account, actor=actor, action="psa.members.match", obj=account,
                     details={"matched": matched, "missing": missing})  # fmt: skip
    return matched, missing


@transaction.atomic
def psa_member_assign(*, user: User, member: dict | None, actor: User) -> PSAMember:
    """Assign a member by hand (`None` clears the mapping)."""
    if user.account_id != actor.account_id:
        raise NotFound()
    row = _member_save(user=user, member=member, match=PSAMember.Match.MANUAL, actor=actor)
    audit_record(account=actor.account, actor=actor, action="psa.member.assign", obj=row,
                 details={"user": user.pk, "member": row.member_id})  # fmt: skip
    return row


# --- Posting a document to a PSA ticket ---------------------------------------------------------


@dataclass
class PostProgress:
    """What a push has already done on the ticket, so a retry never posts a note twice."""

    note_id: str = ""
    time_entry_id: str = ""
    retrying: bool = False  # an earlier attempt may have posted the note and lost the answer
    warnings: list[str] = field(default_factory=list)


def psa_document_post(
    *,
    account: Account,
    ticket_ref: str,
    body: str,
    note_kind: str,
    status_name: str,
    author: User | None,
    progress: PostProgress,
    time_span: tuple | None = None,
) -> str:
    """Post `body` as a note (`resolution` or `internal_analysis`) with the author's member, a time
    entry over `time_span` (start, end) when given, then move the ticket to the configured
    `resolved` / `escalated` status and read it back. Answers what happened to the status; raises
    ExternalServiceError (PSANotConnected, ConnectWiseError) and fills `progress` as it goes."""
    client = psa_client_for_account(account)
    if not client.connected:
        raise PSANotConnected()
    member_id = None
    if author is not None:
        mapping = PSAMember.objects.filter(user=author).first()
        if mapping is None:
            try:
                mapping = psa_member_match_by_email(client=client, user=author)
            except ExternalServiceError as exc:  # no right to read members: post anyway, and say so
                progress.warnings.append(f"The ConnectWise member could not be looked up: {exc.message}")
        member_id = mapping.member_id if mapping else None
        if member_id is None and mapping is not None:
            progress.warnings.append(
                f"{author.get_full_name() or author.email} has no ConnectWise member: posted without a member "
                "(map them on the ConnectWise members page)."
            )
    if not progress.note_id and progress.retrying:
        found = client.find_note(ticket_ref, text=body, kind=note_kind)
        progress.note_id = found.external_id if found else ""
    if not progress.note_id:
        progress.note_id = client.post_note(ticket_ref, body=body, kind=note_kind, member_id=member_id).external_id
    if time_span is not None and not progress.time_entry_id:
        if member_id is None:
            progress.warnings.append("No time entry was posted: it needs the engineer's ConnectWise member.")
        else:
            start, end = time_span
            unknown = False
            if progress.retrying:  # an earlier attempt may have posted it and lost the answer
                try:
                    found = client.find_time_entry(ticket_ref, start=start, member_id=member_id)
                    progress.time_entry_id = found.external_id if found else ""
                except ConnectWiseError as exc:
                    if exc.kind != "permission":
                        raise
                    # May post time but not read it: never charge the time twice, and say so.
                    unknown = True
                    progress.warnings.append(
                        "The time entry was not posted again: an earlier attempt may have posted it, and the API "
                        f"member may not read time entries to check. {exc.message}"
                    )
            if not progress.time_entry_id and not unknown:
                progress.time_entry_id = client.add_time_entry(
                    ticket_ref, start=start, end=max(end, start + timedelta(minutes=1)),
                    notes=f"ResolutionFlow session: {body.splitlines()[0][:200] if body else ''}",
                    member_id=member_id,
                ).external_id  # fmt: skip
    status_id, status_label = client.connection.status_for(status_name)
    if not status_id:
        return f"No {status_name} status is configured in the ConnectWise settings: the ticket's status was left."
    change = client.change_status(ticket_ref, status_id=status_id, status_name=status_label)
    return f"Ticket moved from {change.before} to {change.after} (read back)."
