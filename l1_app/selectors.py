"""Reads of l1_app."""

from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from resolutionflow.accounts.models import User
from resolutionflow.accounts.tenancy import get_for_account

from .models import L1Category, Walk, WalkStep
from .safety import FLOOR_REASONS, L1_SCOPE


def l1_categories_allowed(*, account_id: int) -> QuerySet[L1Category]:
    """The account's allowlist: the categories an AI-built walk may start from, in their order."""
    return L1Category.objects.filter(account_id=account_id, allowed=True)


def walk_path(*, walk: Walk) -> list[WalkStep]:
    """The answered steps of a walk, in order."""
    return [s for s in walk.steps.order_by("order") if s.answered]


def walk_transcript(*, walk: Walk, steps: list[WalkStep] | None = None) -> str:
    """The walk as markdown, for the ticket note, the engineers' list of L1 escalations and the
    session started from it: each answered step with the label the tech saw, then the notes."""
    steps = walk_path(walk=walk) if steps is None else steps
    lines = [f"**L1 walk #{walk.pk}** ({walk.get_kind_display()}) by {walk.tech.get_full_name()}", ""]
    lines += ["**Problem**", walk.problem.strip(), ""]
    if walk.customer_name or walk.customer_contact:
        lines += [f"**Customer**: {' · '.join(x for x in (walk.customer_name, walk.customer_contact) if x)}", ""]
    if steps:
        lines.append("**Steps**")
        for n, step in enumerate(steps, 1):
            lines.append(f"{n}. {step.node.get('text', '').strip()} — **{step.answer_label}**")
            if step.note.strip():
                lines.append(f"   Note: {step.note.strip()}")
        lines.append("")
    if walk.notes.strip():
        lines += ["**Notes**", walk.notes.strip(), ""]
    if walk.status == Walk.Status.RESOLVED:
        lines += [f"**Resolved** (helpful: {'yes' if walk.helpful else 'no'})", walk.outcome_notes.strip(), ""]
    elif walk.status == Walk.Status.ESCALATED:
        lines += [f"**Escalated**: {walk.get_escalation_category_display()}", walk.escalation_reason.strip(), ""]
    return "\n".join(lines).strip() + "\n"


def walk_get_for_user(*, user: User, walk_id: int) -> Walk:
    """A walk the user started, in their account. Anyone else's is not found (404); engineers read
    escalated walks on their own list."""
    qs = Walk.objects.select_related("tech", "flow", "proposal", "internal_ticket").filter(tech=user)
    return get_for_account(qs, account=user.account_id, pk=walk_id)


def walks_in_progress(*, user: User) -> QuerySet[Walk]:
    """The user's active walks, latest first (the dashboard's "resume in progress")."""
    return (
        Walk.objects.select_related("internal_ticket")
        .filter(account_id=user.account_id, tech=user, status=Walk.Status.ACTIVE)
        .order_by("-last_step_at", "-id")
    )


def walks_recent(*, user: User, limit: int = 5) -> list[Walk]:
    """The user's latest finished walks."""
    return list(
        Walk.objects.select_related("internal_ticket")
        .filter(account_id=user.account_id, tech=user)
        .exclude(status=Walk.Status.ACTIVE)
        .order_by("-finished_at", "-id")[:limit]
    )


# --- The engineers' list of L1 escalations (SPEC §7 Escalate) -------------------------------------

L1_ESCALATIONS_WAITING_SHOWN = 5


def l1_escalations(*, account_id: int) -> QuerySet[Walk]:
    """The account's escalated walks, the latest escalation first, with what a row shows beside
    them (the tech, the ticket, the session started from it and its engineer): one query a page."""
    return (
        Walk.objects.filter(account_id=account_id, status=Walk.Status.ESCALATED)
        .select_related("tech", "internal_ticket", "session__owner")
        .order_by(F("finished_at").desc(nulls_last=True), "-id")
    )


def l1_escalations_waiting(*, account_id: int, limit: int = L1_ESCALATIONS_WAITING_SHOWN) -> list[Walk]:
    """The latest escalated walks no engineer has started a session from yet (the queue page)."""
    return list(l1_escalations(account_id=account_id).filter(session__isnull=True)[:limit])


def l1_escalation_get(*, user: User, walk_id: int) -> Walk:
    """One escalated walk of the user's account; NotFound for a missing walk, another account's,
    and one that is not escalated alike."""
    return get_for_account(l1_escalations(account_id=user.account_id), account=user.account_id, pk=walk_id)


@dataclass(frozen=True)
class WalkAsServed:
    """A walk's steps as the tech saw them: the answered ones in order, and the node the tech was
    shown last but did not answer (where the walk stopped), if any."""

    answered: list[WalkStep]
    stopped_at: WalkStep | None


def walk_as_served(*, walk: Walk) -> WalkAsServed:
    steps = list(walk.steps.order_by("order"))
    last = steps[-1] if steps and not steps[-1].answered else None
    return WalkAsServed(answered=[s for s in steps if s.answered], stopped_at=last)


def walk_session_intake(*, walk: Walk, steps: list[WalkStep] | None = None) -> str:
    """The intake of the session an engineer starts from an escalated walk: the problem first (the
    session's summary falls back to the start of its intake), then the walk's transcript without
    its problem section (just above) and as plain text: the session page shows an intake as it was
    typed, where markdown's asterisks would stand in the way."""
    problem = walk.problem.strip()
    transcript = walk_transcript(walk=walk, steps=steps).replace("**", "")
    transcript = transcript.replace(f"Problem\n{problem}\n\n", "", 1)
    return f"{problem}\n\n{transcript}"


# --- the category allowlist editor


def l1_category_get(*, account_id: int, category_id: int) -> L1Category:
    """One category of the account: a missing one and another account's both raise NotFound (404)."""
    return get_for_account(L1Category, account=account_id, pk=category_id)


def l1_category_editor(*, account_id: int) -> dict[str, Any]:
    """The editor page: every category of the account, allowed or not, in order (one query), and
    the hard floor that no category lifts."""
    return {
        "categories": list(L1Category.objects.filter(account_id=account_id).order_by("position", "label", "pk")),
        "floor_reasons": FLOOR_REASONS,
        "l1_scope": L1_SCOPE,
    }
