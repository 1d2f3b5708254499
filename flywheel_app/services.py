"""Writes of the flywheel (SPEC §8): proposals recorded (de-duplicated, at most so many new ones per
account per day, admins told), proposals decided by an admin (each decision once, with its audit
row), and flows reinforced by the sessions that followed them."""

import re
from datetime import datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from resolutionflow.accounts.models import ADMIN_ROLES, Account, User
from resolutionflow.accounts.services import audit_record, notification_send
from resolutionflow.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from resolutionflow.taxonomy import Domain

from .analytics.base import analytics_invalidate
from .models import Flow, FlowProposal
from .trees import TreeError, validate_tree

P = FlowProposal
# Two titles (with their keywords) this alike are the same proposal: the older one gains the evidence.
SIMILAR = 0.5
_STOP = frozenset(
    re.findall(r"\w+", "a an and are as at be by for from has have in into is it of on or the to was when with not no "
                       "does do after before user users")
)  # fmt: skip


class DailyCapReached(Exception):
    """The account has had its new proposals for today; the source waits for tomorrow."""


def _words(*texts: str) -> set[str]:
    words = re.findall(r"[a-z0-9][a-z0-9'\-]*", " ".join(texts).lower())
    return {w.rstrip("s") if len(w) > 3 else w for w in words if w not in _STOP and len(w) > 1}


def _alike(proposal: FlowProposal, title: str, keywords: list[str]) -> bool:
    mine, theirs = _words(title, *keywords), _words(proposal.title, *proposal.keywords)
    return bool(mine and theirs) and len(mine & theirs) / len(mine | theirs) >= SIMILAR


def _clean_keywords(keywords) -> list[str]:
    seen: dict[str, None] = {}
    for k in keywords or []:
        phrase = " ".join(str(k).split())[:80]
        if phrase:
            seen.setdefault(phrase.lower(), None)
    return list(seen)[:12]


def _today_start() -> datetime:
    now = timezone.localtime()
    return timezone.make_aware(datetime.combine(now.date(), time.min), now.tzinfo)


@transaction.atomic
def proposal_record(
    *,
    account: Account,
    type: str,
    source: str,
    session_id: int | None = None,
    walk_id: int | None = None,
    evidence_session_ids: list[int] | None = None,
    title: str,
    description: str = "",
    keywords: list[str] | None = None,
    domain: str = "",
    tree: dict,
    target_flow: Flow | None = None,
    changes: str = "",
    validated_by_outcome: bool = False,
) -> tuple[FlowProposal, bool]:
    """Record what an analysis proposes. The tree is validated first (TreeError: nothing saved).
    A pending proposal of the same account, type and domain (or both without one) for the same
    target flow, or with a title and keywords this alike, gains the evidence instead of a new row.
    Returns (proposal, created). Raises DailyCapReached when the account has had its new proposals
    for today (the caller leaves the session waiting). The source is a session (`session_id`) or
    an AI-built L1 walk (`walk_id`): a walk's evidence counts, it has no session number to list.
    `evidence_session_ids`: more sessions behind the same proposal (a knowledge gap's), recorded as
    evidence beside `session_id`."""
    if (session_id is None) == (walk_id is None):
        raise ValueError("A proposal comes from exactly one session or one walk.")
    validate_tree(tree)
    title = " ".join((title or "").split())[:200]
    if not title:
        raise InvalidInput("A proposal needs a title.")
    if type == P.Type.ENHANCEMENT and target_flow is None:
        raise InvalidInput("An enhancement names the flow it changes.")
    domain = domain if domain in Domain.values else ""
    keywords = _clean_keywords(keywords)
    evidence = list(dict.fromkeys([session_id, *(evidence_session_ids or [])])) if session_id is not None else []
    # One writer per account at a time: de-duplication and the daily count are exact.
    Account.objects.select_for_update().filter(pk=account.pk).first()
    # Locked (an admin deciding one at this moment waits, or it is no longer pending): evidence never
    # lands on a decided proposal. An enhancement is the same proposal whatever domain it was given.
    pending = P.objects.select_for_update().filter(account=account, type=type, status=P.Status.PENDING)
    if type == P.Type.ENHANCEMENT:
        same = pending.filter(target_flow=target_flow).order_by("created_at").first()
    else:
        same = next((p for p in pending.filter(domain=domain).order_by("created_at") if _alike(p, title, keywords)),
                    None)  # fmt: skip
    if same is not None:
        if type == P.Type.ENHANCEMENT and changes and changes.strip() not in same.changes:
            # Another session left the flow elsewhere: the reviewer sees both divergences.
            same.changes = f"{same.changes}\n\nAlso (session #{session_id}): {changes.strip()}"[:4000]
        if session_id is None:
            same.evidence_count += 1
        added = [pk for pk in evidence if pk not in same.evidence_session_ids]
        if added:
            same.evidence_session_ids = [*same.evidence_session_ids, *added]
            same.evidence_count += len(added)
        same.validated_by_outcome = same.validated_by_outcome or validated_by_outcome
        same.keywords = _clean_keywords([*same.keywords, *keywords])
        same.save(update_fields=["evidence_session_ids", "evidence_count", "validated_by_outcome", "keywords",
                                 "changes", "updated_at"])  # fmt: skip
        return same, False
    if P.objects.filter(account=account, created_at__gte=_today_start()).count() >= settings.FLYWHEEL_PROPOSALS_PER_DAY:
        raise DailyCapReached(f"{account} has had {settings.FLYWHEEL_PROPOSALS_PER_DAY} new proposals today.")
    proposal = P.objects.create(
        account=account, type=type, source=source, session_id=session_id, walk_id=walk_id, title=title,
        description=(description or "").strip()[:1000], keywords=keywords, domain=domain, tree=tree,
        target_flow=target_flow, changes=(changes or "").strip()[:2000], validated_by_outcome=validated_by_outcome,
        evidence_session_ids=evidence, evidence_count=max(len(evidence), 1),
    )  # fmt: skip
    audit_record(account=account, actor=None, action="proposal.create", obj=proposal, details={"type": type})
    admins = User.objects.for_account(account).filter(role__in=ADMIN_ROLES)
    notification_send(
        account=account, recipients=list(admins), kind="flywheel.proposal",
        title=f"New {proposal.get_type_display().lower()} proposal: {title}",
        url=reverse("admin:flywheel_app_flowproposal_change", args=[proposal.pk]),
    )  # fmt: skip
    return proposal, True


# --- decisions -------------------------------------------------------------------------------


def _lock_pending(proposal: FlowProposal, actor: User) -> FlowProposal:
    """The proposal, locked, if `actor` may decide it: an owner or admin of its account (anyone
    else: not found, or not allowed), and only while it is pending."""
    if actor.account_id != proposal.account_id:
        raise NotFound("No such proposal.")
    if not actor.can_admin:
        raise PermissionDenied("Only owners and admins decide proposals.")
    # Lock the proposal's row only: PostgreSQL refuses FOR UPDATE on the nullable side of the joins.
    locked = P.objects.select_for_update(of=("self",)).select_related("target_flow", "reviewer").get(pk=proposal.pk)
    if locked.status != P.Status.PENDING:
        who = locked.reviewer.get_full_name() if locked.reviewer else "someone"
        raise Conflict(f"This proposal was already {locked.get_status_display().lower()} by {who}; it cannot be "
                       "decided again.")  # fmt: skip
    return locked


def _decided(locked: FlowProposal, actor: User, status: str, **fields) -> FlowProposal:
    locked.status = status
    locked.reviewer = actor
    locked.reviewed_at = timezone.now()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save()
    audit_record(
        account=locked.account, actor=actor, action=f"proposal.{status}", obj=locked,
        details={"flow": locked.flow_id} if locked.flow_id else {},
    )  # fmt: skip
    return locked


def _tree_or_refuse(tree) -> None:
    try:
        validate_tree(tree)
    except TreeError as error:
        raise InvalidInput("The tree is not valid: " + "; ".join(error.errors), field="tree") from None


def _flow_saved(flow: Flow) -> Flow:
    try:
        flow.full_clean(exclude=["account", "created_by"])
    except ValidationError as error:
        messages = [m for ms in error.message_dict.values() for m in ms]
        raise InvalidInput(" ".join(messages), field="tree") from None
    flow.save()
    return flow


@transaction.atomic
def proposal_approve(*, proposal: FlowProposal, actor: User) -> FlowProposal:
    """Create the flow from a new-flow proposal as it is (unpublished: publish it when ready).
    An enhancement changes an existing flow: it is edited and published instead."""
    locked = _lock_pending(proposal, actor)
    if locked.type == P.Type.ENHANCEMENT:
        raise InvalidInput("An enhancement changes an existing flow: edit it and publish it instead.")
    _tree_or_refuse(locked.tree)
    flow = _flow_saved(
        Flow(account_id=locked.account_id, title=locked.title, domain=locked.domain or Domain.OTHER,
             keywords=locked.keywords, when_to_use=locked.description, tree=locked.tree, published=False,
             created_by=actor)
    )  # fmt: skip
    transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    return _decided(locked, actor, P.Status.APPROVED, flow=flow)


@transaction.atomic
def proposal_publish(
    *,
    proposal: FlowProposal,
    actor: User,
    tree: dict,
    title: str | None = None,
    description: str | None = None,
    keywords: list[str] | None = None,
    domain: str | None = None,
    as_new_flow: bool = True,
) -> FlowProposal:
    """Publish the proposal as edited: a new flow, or (an enhancement) the new version of its
    target flow. The tree is validated before anything is saved."""
    locked = _lock_pending(proposal, actor)
    _tree_or_refuse(tree)
    title = " ".join((title if title is not None else locked.title).split())[:200]
    description = (description if description is not None else locked.description).strip()
    keywords = _clean_keywords(keywords if keywords is not None else locked.keywords)
    domain = domain if domain is not None else locked.domain
    if locked.type == P.Type.ENHANCEMENT and not as_new_flow:
        if locked.target_flow is None:
            raise InvalidInput("The flow this enhancement changes no longer exists: publish it as a new flow.")
        flow = Flow.objects.select_for_update().get(pk=locked.target_flow_id)
        flow.tree, flow.published = tree, True
        flow.keywords = _clean_keywords([*flow.keywords, *keywords])
        flow = _flow_saved(flow)
    else:
        flow = _flow_saved(
            Flow(account_id=locked.account_id, title=title, domain=domain or Domain.OTHER, keywords=keywords,
                 when_to_use=description, tree=tree, published=True, created_by=actor)
        )  # fmt: skip
    transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    return _decided(locked, actor, P.Status.PUBLISHED, flow=flow, tree=tree)


@transaction.atomic
def proposal_dismiss(*, proposal: FlowProposal, actor: User) -> FlowProposal:
    return _decided(_lock_pending(proposal, actor), actor, P.Status.DISMISSED)


@transaction.atomic
def proposal_reject(*, proposal: FlowProposal, actor: User, reason: str) -> FlowProposal:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why it is rejected: the reason is kept with the proposal.", field="reason")
    return _decided(_lock_pending(proposal, actor), actor, P.Status.REJECTED, reason=reason[:2000])


def proposals_dismiss(*, proposals, actor: User) -> int:
    """Bulk dismiss: each pending proposal of the actor's account, each with its audit row; the
    ones already decided are left as they are. Returns how many were dismissed."""
    dismissed = 0
    for proposal in proposals.filter(account_id=actor.account_id, status=P.Status.PENDING):
        try:
            proposal_dismiss(proposal=proposal, actor=actor)
        except Conflict:
            continue
        dismissed += 1
    return dismissed


# --- flows reinforced ----------------------------------------------------------------------------


def flow_reinforce(*, flow_id: int, matched_at: datetime, resolved: bool) -> None:
    """An analysed session that matched the flow: one more use (and one more success when it
    followed the flow to its resolution), and the last-matched time moves forward."""
    Flow.objects.filter(pk=flow_id).update(
        usage_count=F("usage_count") + 1,
        success_count=F("success_count") + (1 if resolved else 0),
        last_matched_at=Greatest(Coalesce(F("last_matched_at"), Value(matched_at)), Value(matched_at)),
    )
