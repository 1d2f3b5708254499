"""A finished walk's transcript to its PSA ticket (SPEC §9; issue #15 §4): recorded with the walk's
outcome, posted after the commit by a task (never blocking the walk), the status moved and read
back; a failure is recorded, retried by the beat job every 5 minutes (3 times) and by hand."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from l1_app.models import Walk, WalkPush
from resolutionflow.accounts.models import ENGINEER_ROLES, User
from resolutionflow.accounts.services import audit_record
from resolutionflow.errors import Conflict, DomainError, PermissionDenied
from resolutionflow.psa.services import PostProgress, psa_document_post

logger = logging.getLogger(__name__)

RETRY_EVERY = timedelta(minutes=5)


def walk_push_create(*, walk: Walk, body: str, status_name: str, actor: User) -> WalkPush:
    """Record the post (inside the walk's transaction); the task posts it after the commit."""
    push = WalkPush.objects.create(
        account_id=walk.account_id, walk=walk, body=body, status_name=status_name, created_by=actor
    )
    note = f"Posting to PSA ticket #{walk.psa_ticket_ref}…"
    Walk.objects.filter(pk=walk.pk).update(ticket_note=note)
    walk.ticket_note = note
    return push  # l1_app.receivers sends it to the worker after the commit


def walk_push_attempt(*, push_id: int) -> WalkPush:
    """Post the transcript. Idempotent: a posted push is left as it is; a note that reached the
    ticket is never posted again. Never raises for a PSA failure; it records it."""
    with transaction.atomic():
        push = WalkPush.objects.select_for_update().select_related("walk__account", "created_by").get(pk=push_id)
        if push.status == WalkPush.Status.POSTED:
            return push
        walk = push.walk
        # A push still pending after RETRY_EVERY lost its task (a worker that died mid-post, a
        # message never delivered): its note may be on the ticket already, so it is looked for.
        stale = push.created_at <= timezone.now() - RETRY_EVERY
        progress = PostProgress(note_id=push.external_id, retrying=push.attempts > 0 or stale)
        ok, error, status_note = True, "", ""
        try:
            status_note = psa_document_post(
                account=walk.account, ticket_ref=walk.psa_ticket_ref, body=push.body, note_kind="internal_analysis",
                status_name=push.status_name, author=push.created_by, progress=progress,
            )  # fmt: skip
        except DomainError as exc:
            ok, error = False, exc.message
        now = timezone.now()
        warnings = " ".join(progress.warnings)
        if ok:
            ticket_note = f"Posted to PSA ticket #{walk.psa_ticket_ref}. {warnings} {status_note}"
            fields = {"status": WalkPush.Status.POSTED, "error": "", "posted_at": now,
                      "status_note": f"{warnings} {status_note}".strip()[:300]}  # fmt: skip
        else:
            logger.info("Walk push %s failed: %s", push.pk, error)
            ticket_note = f"Not posted to PSA ticket #{walk.psa_ticket_ref}: {error} The walk is kept here."
            fields = {"status": WalkPush.Status.FAILED, "error": error[:500], "status_note": warnings[:300]}
        WalkPush.objects.filter(pk=push.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=now, external_id=progress.note_id, **fields
        )
        Walk.objects.filter(pk=walk.pk).update(ticket_note=" ".join(ticket_note.split())[:300])
    push.refresh_from_db()
    return push


def walk_push_retry(*, push: WalkPush, actor: User) -> WalkPush:
    """Retry by hand: the walk's tech, or an engineer of the account."""
    if push.account_id != actor.account_id:
        raise PermissionDenied()
    if actor.pk != push.walk.tech_id and actor.role not in ENGINEER_ROLES:
        raise PermissionDenied("Only the walk's tech or an engineer can retry posting it.")
    if push.status != WalkPush.Status.FAILED:
        raise Conflict("Only a failed post can be retried.")
    push = walk_push_attempt(push_id=push.pk)
    with transaction.atomic():
        audit_record(account=actor.account, actor=actor, action="walk.push_retry", obj=push,
                     details={"status": push.status})  # fmt: skip
    return push


def walk_pushes_retry_failed(*, now=None) -> int:
    """The background retry: failed posts whose last attempt is older than RETRY_EVERY, at most
    MAX_BACKGROUND_ATTEMPTS times after the first attempt; and posts still pending RETRY_EVERY after
    the walk ended (their task never ran, or died before recording anything): never left behind."""
    now = now or timezone.now()
    due = WalkPush.objects.filter(
        Q(
            status=WalkPush.Status.FAILED,
            attempts__lte=WalkPush.MAX_BACKGROUND_ATTEMPTS,
            last_attempt_at__lte=now - RETRY_EVERY,
        )
        | Q(status=WalkPush.Status.PENDING, created_at__lte=now - RETRY_EVERY)
    ).order_by(F("last_attempt_at").asc(nulls_first=True), "pk")
    count = 0
    for push_id in list(due.values_list("pk", flat=True)[:100]):
        walk_push_attempt(push_id=push_id)
        count += 1
    return count
