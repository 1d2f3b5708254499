"""Reads of l1_app."""

from typing import Any

from django.db.models import QuerySet

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
