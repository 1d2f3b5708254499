"""A walk's lifecycle (SPEC §7): answers, notes, resolve and escalate, abandonment.

Only an active walk can step, save notes, resolve or escalate; anything else is refused with a
clear message and changes nothing. An answer is keyed by (walk, node): a double tap, a retried
request or a replay after reconnecting records it once and leads to the same next node. The label
recorded is the served node's, never one sent by the client.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.models import FlowProposal
from flywheel_app.services import DailyCapReached, flow_reinforce, proposal_record
from flywheel_app.trees import tree_with_stubs
from l1_app import nodes
from l1_app.categories import CATEGORY_DOMAINS
from l1_app.models import L1Category, Walk, WalkStep
from l1_app.selectors import walk_path, walk_transcript
from l1_app.services.walk_pushes import walk_push_create
from resolutionflow.accounts.models import ENGINEER_ROLES, User
from resolutionflow.accounts.services import audit_record, notification_send
from resolutionflow.errors import Conflict, InvalidInput
from resolutionflow.psa.models import InternalTicket, InternalTicketNote
from resolutionflow.psa.services import internal_ticket_post_note, internal_ticket_set_status

logger = logging.getLogger(__name__)

NOTES_LIMIT = 256 * 1024  # bytes of UTF-8
ABANDON_AFTER = timedelta(hours=24)


def _locked_active(walk: Walk, doing: str) -> Walk:
    locked = Walk.objects.select_for_update().get(pk=walk.pk)
    if locked.status != Walk.Status.ACTIVE:
        raise Conflict(f"This walk is {locked.get_status_display().lower()}: it can't {doing} any more.")
    return locked


@dataclass(frozen=True)
class Answered:
    step: WalkStep
    replayed: bool  # the same answer came again: nothing was recorded this time


@transaction.atomic
def walk_answer(*, walk: Walk, node_id: str, value: str, note: str = "", actor: User) -> Answered:
    """Record the answer to the served node `node_id`. A flow or proposal walk advances to its next
    node at once; an AI-built walk's next node is built afterwards (builder.walk_build_next)."""
    locked = _locked_active(walk, "take steps")
    if locked.kind == Walk.Kind.AD_HOC:
        raise Conflict("An ad-hoc walk has no steps to answer: write what you did in the notes.")
    step = WalkStep.objects.select_for_update().filter(walk=locked, node_id=node_id).first()
    if step is None:
        raise InvalidInput("That step is not part of this walk. Reload the page to see where it stands.")
    if step.answered:
        if step.answer == value:
            return Answered(step, replayed=True)
        raise Conflict(f"That step was already answered “{step.answer_label}”.")
    choice = nodes.choice_for(step.node, value)
    if choice is None:
        raise InvalidInput("Choose one of the answers shown.")
    now = timezone.now()
    step.answer, step.answer_label, step.note, step.answered_at = value, choice["label"], note.strip()[:2000], now
    step.save(update_fields=["answer", "answer_label", "note", "answered_at"])
    locked.last_step_at = now
    locked.save(update_fields=["last_step_at"])
    tree = locked.tree if locked.kind in (Walk.Kind.FLOW, Walk.Kind.PROPOSAL) else None
    if tree is not None:
        following = nodes.from_tree(tree, choice.get("next")) if choice.get("next") else None
        if following is None:
            following = nodes.escalate_node(
                node_id=f"missing-{step.order + 1}", depth=0, reason="the flow has no step after this answer"
            )
        WalkStep.objects.create(
            account_id=locked.account_id, walk=locked, order=step.order + 1, node_id=following["id"], node=following
        )
    return Answered(step, replayed=False)


@transaction.atomic
def walk_notes_save(*, walk: Walk, notes: str, actor: User) -> Walk:
    """Autosave the walk's notes. Over 256 KB is refused; what was saved stays."""
    size = len(notes.encode("utf-8"))
    if size > NOTES_LIMIT:
        raise InvalidInput(
            f"Notes are limited to 256 KB and these are {size / 1024:.0f} KB: the last change was not saved. "
            "What was saved before stays."
        )
    locked = _locked_active(walk, "save notes")
    locked.notes = notes
    locked.last_step_at = timezone.now()
    locked.save(update_fields=["notes", "last_step_at"])
    return locked


@transaction.atomic
def walk_switch_to_ad_hoc(*, walk: Walk, actor: User) -> Walk:
    """When the AI can build nothing: go on with ad-hoc notes on the same walk and ticket. The path
    walked so far stays in the notes."""
    locked = _locked_active(walk, "change")
    if locked.kind == Walk.Kind.AD_HOC:
        return locked
    path = walk_path(walk=locked)
    if path:
        lines = [f"- {s.node.get('text', '')} — {s.answer_label}" for s in path]
        locked.notes = ("Steps walked before going ad hoc:\n" + "\n".join(lines) + "\n\n" + locked.notes).strip()
    # Unanswered served nodes go; the answered ones stay for the transcript.
    locked.steps.filter(answered_at__isnull=True).delete()
    locked.kind, locked.flow, locked.proposal, locked.tree, locked.building_until, locked.build_problem = (
        Walk.Kind.AD_HOC, None, None, None, None, "",
    )  # fmt: skip
    locked.save(update_fields=["kind", "flow", "proposal", "tree", "building_until", "build_problem", "notes"])
    audit_record(account=locked.account, actor=actor, acting_as=locked.acting_as, action="l1_walk.ad_hoc", obj=locked)
    return locked


@transaction.atomic
def walk_switch_to_flow(*, walk: Walk, flow, actor: User) -> Walk:
    """When the AI could build nothing for this problem: walk one of the nearest published flows
    instead, on the same walk and ticket. Only before any step was answered."""
    locked = _locked_active(walk, "change")
    if flow.account_id != locked.account_id or not flow.published:
        raise InvalidInput("Choose a published flow.")
    if locked.steps.filter(answered_at__isnull=False).exists():
        raise Conflict("This walk has answered steps: finish it, or escalate with what you found.")
    first = nodes.from_tree(flow.tree, flow.tree.get("start"))
    if first is None:
        raise InvalidInput("That flow has no start node.")
    locked.steps.all().delete()
    locked.kind, locked.flow, locked.proposal, locked.category, locked.tree = Walk.Kind.FLOW, flow, None, "", flow.tree
    locked.building_until, locked.build_problem = None, ""
    locked.save(update_fields=["kind", "flow", "proposal", "category", "tree", "building_until", "build_problem"])
    WalkStep.objects.create(account_id=locked.account_id, walk=locked, order=1, node_id=first["id"], node=first)
    audit_record(account=locked.account, actor=actor, acting_as=locked.acting_as, action="l1_walk.flow", obj=locked,
                 details={"flow": flow.pk})  # fmt: skip
    return locked


# --- resolve ---------------------------------------------------------------------------------


@transaction.atomic
def walk_resolve(*, walk: Walk, actor: User, helpful: bool, notes: str) -> Walk:
    """Resolve: helpful on a proposal walk validates the proposal; helpful on an AI-built walk
    captures the walked path as a new proposal for the admins' review queue. The internal ticket
    is closed with the notes; a PSA ticket gets the walk as a note when one is connected."""
    locked = _locked_active(walk, "be resolved")
    notes = (notes or "").strip()
    if not notes:
        raise InvalidInput("Say what fixed it (or what you did), so the ticket has it.")
    steps = list(locked.steps.order_by("order"))
    now = timezone.now()
    locked.status, locked.helpful, locked.outcome_notes, locked.finished_at = Walk.Status.RESOLVED, helpful, notes, now
    locked.building_until = None
    locked.save(update_fields=["status", "helpful", "outcome_notes", "finished_at", "building_until"])
    captured = None
    if helpful and locked.kind == Walk.Kind.PROPOSAL and locked.proposal_id:
        FlowProposal.objects.filter(pk=locked.proposal_id).update(validated_by_outcome=True)
    elif helpful and locked.kind == Walk.Kind.AI_BUILT:
        captured = _capture_proposal(locked, steps)
    if locked.flow_id:
        flow_reinforce(flow_id=locked.flow_id, matched_at=locked.created_at, resolved=helpful)
    audit_record(
        account=locked.account, actor=actor, acting_as=locked.acting_as, action="l1_walk.resolve", obj=locked,
        details={"helpful": helpful, "kind": locked.kind, "proposal": captured.pk if captured else None},
    )  # fmt: skip
    _ticket_after(locked, actor, InternalTicket.Status.RESOLVED)
    transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    return locked


def _capture_proposal(walk: Walk, steps: list[WalkStep]) -> FlowProposal | None:
    """The walked path as a new-flow proposal (validated by this outcome); the branches not taken
    become needs_review stubs."""
    tree = path_tree(steps, ending=walk.outcome_notes)
    category = L1Category.objects.filter(account_id=walk.account_id, key=walk.category).first()
    title = " ".join(walk.problem.split())[:120]
    try:
        with transaction.atomic():
            proposal, _ = proposal_record(
                account=walk.account,
                type=FlowProposal.Type.NEW_FLOW,
                source=FlowProposal.Source.AI_REALTIME_L1,
                walk_id=walk.pk,
                title=title,
                description=f"An AI-built L1 walk that resolved: {title}",
                keywords=[category.label] + list(category.keywords)[:5] if category else [],
                domain=CATEGORY_DOMAINS.get(walk.category, ""),
                tree=tree,
                validated_by_outcome=True,
            )
    except DailyCapReached:
        logger.info("walk %s: no proposal captured today, the account's daily cap is reached", walk.pk)
        return None
    return proposal


def path_tree(steps: list[WalkStep], *, ending: str) -> dict:
    """A flow tree of the walked path: each answered node leads to the next by the answer given;
    the last node is the resolution (the served resolved node, else the tech's notes)."""
    answered = [s for s in steps if s.answered and s.node.get("type") in (nodes.QUESTION, nodes.INSTRUCTION)]
    last = steps[-1] if steps else None
    end = (
        {"id": "resolved", "type": "resolution", "text": last.node["text"]}
        if last and last.node.get("type") == nodes.RESOLVED
        else {"id": "resolved", "type": "resolution", "text": ending[:600] or "Resolved."}
    )
    tree_nodes: list[dict] = []
    for n, step in enumerate(answered):
        following = answered[n + 1].node_id if n + 1 < len(answered) else end["id"]
        node = step.node
        if node["type"] == nodes.QUESTION:
            options = [{"label": c["label"], "next": following if c["value"] == step.answer else None}
                       for c in node["choices"]]  # fmt: skip
            tree_nodes.append({"id": step.node_id, "type": "question", "text": node["text"], "options": options})
        else:
            tree_nodes.append({"id": step.node_id, "type": "instruction", "text": node["text"], "next": following})
    tree_nodes.append(end)
    return tree_with_stubs({"start": tree_nodes[0]["id"], "nodes": tree_nodes})


# --- escalate --------------------------------------------------------------------------------


@transaction.atomic
def walk_escalate(*, walk: Walk, actor: User, category: str, reason: str) -> Walk:
    """Escalate: the ticket is marked escalated, every active owner, admin and engineer of the
    account is told (if there is none, its owners and admins), and the walk joins the engineers'
    list of L1 escalations with its transcript."""
    if category not in Walk.EscalationCategory.values:
        raise InvalidInput("Choose why it needs an engineer.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say what an engineer needs to know.")
    locked = _locked_active(walk, "be escalated")
    locked.status, locked.escalation_category, locked.escalation_reason = Walk.Status.ESCALATED, category, reason
    locked.finished_at = timezone.now()
    locked.building_until = None
    locked.save(update_fields=["status", "escalation_category", "escalation_reason", "finished_at", "building_until"])
    audit_record(
        account=locked.account, actor=actor, acting_as=locked.acting_as, action="l1_walk.escalate", obj=locked,
        details={"category": category},
    )  # fmt: skip
    recipients = _escalation_recipients(locked, actor)
    notification_send(
        account=locked.account,
        recipients=recipients,
        kind="l1.escalation",
        title=f"L1 escalation: {' '.join(locked.problem.split())[:120]}",
        body=f"{locked.get_escalation_category_display()}: {reason}"[:500],
        url=reverse("l1_app:escalation_detail", args=[locked.pk]),
    )
    _ticket_after(locked, actor, InternalTicket.Status.ESCALATED)
    transaction.on_commit(lambda: analytics_invalidate(account_id=locked.account_id))
    return locked


def _escalation_recipients(walk: Walk, actor: User) -> list[User]:
    """Every active owner, admin and engineer of the account (owners and admins are among them)
    but the one escalating; when that is nobody, the one escalating if they are one of them (a
    coverage engineer who is the last one left). Never nobody while one of them can log in."""
    people = User.objects.for_account(walk.account_id).usable().filter(role__in=ENGINEER_ROLES)
    for group in (people.exclude(pk=actor.pk), people.filter(pk=actor.pk)):
        found = list(group)
        if found:
            return found
    logger.error("walk %s escalated with nobody in account %s to tell", walk.pk, walk.account_id)
    return []


def _ticket_after(walk: Walk, actor: User, status: str) -> None:
    """The ticket learns the outcome: an internal ticket gets the transcript and its status; a PSA
    ticket gets the transcript as a note when a PSA is connected (never blocking the walk)."""
    transcript = walk_transcript(walk=walk)
    if walk.internal_ticket_id:
        ticket = walk.internal_ticket
        kind = (
            InternalTicketNote.Kind.RESOLUTION
            if status == InternalTicket.Status.RESOLVED
            else InternalTicketNote.Kind.INTERNAL
        )
        internal_ticket_post_note(ticket=ticket, body=transcript, kind=kind, actor=actor)
        internal_ticket_set_status(
            ticket=ticket, status=status, actor=actor,
            resolution_notes=walk.outcome_notes if status == InternalTicket.Status.RESOLVED else "",
        )  # fmt: skip
        note = f"{ticket.reference} {ticket.get_status_display().lower()}, with the walk as a note."[:300]
        Walk.objects.filter(pk=walk.pk).update(ticket_note=note)
        walk.ticket_note = note
    elif walk.psa_ticket_ref:
        # Posted after the commit by a task: the walk's outcome never waits on, or rolls back with, the PSA.
        walk_push_create(walk=walk, body=transcript, status_name=status, actor=actor)


# --- abandonment -----------------------------------------------------------------------------


def walks_abandon_stale(*, now=None) -> int:
    """Active walks with no step for 24 hours become abandoned (kept, never deleted)."""
    now = now or timezone.now()
    return Walk.objects.filter(status=Walk.Status.ACTIVE, last_step_at__lt=now - ABANDON_AFTER).update(
        status=Walk.Status.ABANDONED, finished_at=now, building_until=None
    )
