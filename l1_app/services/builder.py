"""The AI-built walk (SPEC §7 "AI-built tree"): one node per call on the strong tier, from the
problem, the category and the path so far, checked against the hard floor before it is stored or
shown.

A build is claimed first (`Walk.building_until`, a lease under the walk's row lock): a second
request while one builds — a double mount, a reload, a second tab — waits for that node instead of
paying for another. A node already served and not answered is replayed, never rebuilt. The answer
that led here is saved before the AI is called, so an AI failure loses nothing: the page offers
to try again, walk ad hoc, escalate, or a flow.
"""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from l1_app import nodes, prompts
from l1_app.models import L1Category, Walk, WalkStep
from l1_app.safety import node_violation
from resolutionflow.accounts.models import User
from resolutionflow.ai.client import Subject, ai_json
from resolutionflow.ai.errors import AIError
from resolutionflow.errors import Conflict

logger = logging.getLogger(__name__)

DEPTH_LIMIT = prompts.MAX_DEPTH


@dataclass(frozen=True)
class Built:
    """What a build request got: the step now waiting for an answer, or `building` (another request
    is building it: wait), or `problem` (the AI could not build it: the ways on are offered)."""

    step: WalkStep | None = None
    building: bool = False
    problem: str = ""


def _lease_seconds() -> float:
    # Two calls at most (a refused node is regenerated once), and a margin.
    return 2 * settings.AI_DEADLINE + 10


def walk_build_next(*, walk: Walk, actor: User | None) -> Built:
    """Serve the next node of an active AI-built walk: the one already waiting if any (replayed,
    no AI call), else a new one from the AI. Raises Conflict when the walk cannot take one."""
    with transaction.atomic():
        locked = Walk.objects.select_for_update().get(pk=walk.pk)
        if locked.kind != Walk.Kind.AI_BUILT:
            raise Conflict("Only an AI-built walk gets its steps from the AI.")
        if locked.status != Walk.Status.ACTIVE:
            raise Conflict(f"This walk is {locked.get_status_display().lower()}: it takes no more steps.")
        steps = list(locked.steps.order_by("order"))
        if steps and not steps[-1].answered:
            return Built(step=steps[-1])
        now = timezone.now()
        if locked.building_until and locked.building_until > now:
            return Built(building=True)
        locked.building_until = now + timedelta(seconds=_lease_seconds())
        locked.save(update_fields=["building_until"])
    order = len(steps) + 1
    node_id = f"n{order}"
    try:
        node = _next_node(locked, steps, node_id=node_id, depth=order, actor=actor)
    except AIError as exc:
        Walk.objects.filter(pk=walk.pk).update(building_until=None, build_problem=exc.message[:300])
        return Built(problem=exc.message)
    except BaseException:
        Walk.objects.filter(pk=walk.pk).update(building_until=None)
        raise
    try:
        with transaction.atomic():
            step = WalkStep.objects.create(account_id=walk.account_id, walk=locked, order=order, node_id=node_id,
                                           node=node)  # fmt: skip
            Walk.objects.filter(pk=walk.pk).update(building_until=None, build_problem="")
    except IntegrityError:
        # A build whose lease ran out while it waited on the AI lost the race: serve the winner's node.
        Walk.objects.filter(pk=walk.pk, building_until__lt=timezone.now()).update(building_until=None)
        return Built(step=WalkStep.objects.get(walk=locked, order=order))
    return Built(step=step)


def _next_node(walk: Walk, steps: list[WalkStep], *, node_id: str, depth: int, actor: User | None) -> dict:
    if depth >= DEPTH_LIMIT:
        return nodes.escalate_node(
            node_id=node_id, depth=depth, reason=f"reached the {DEPTH_LIMIT}-step limit of an AI-built walk"
        )
    messages: list[dict] = [{"role": "user", "content": _message(walk, steps, depth)}]
    refused = ""
    for attempt in (1, 2):
        raw = ai_json(
            action="l1_tree_node",
            system=prompts.NODE_SYSTEM,
            messages=messages,
            schema=prompts.NODE_SCHEMA,
            account=walk.account,
            user=actor,
            subject=Subject("walk", walk.pk),
            max_tokens=400,
        )
        node = nodes.from_ai(raw, node_id=node_id, depth=depth)
        refused = _refusal(node, steps)
        if not refused:
            return node
        if node["type"] == nodes.ESCALATE:
            # Handing over is always right; only its wording is replaced.
            return nodes.escalate_node(node_id=node_id, depth=depth, reason=node["reason"], replaced=refused)
        logger.info("walk %s: node refused (attempt %s): %s", walk.pk, attempt, refused)
        messages += [
            {"role": "assistant", "content": json.dumps(raw, ensure_ascii=False)},
            {"role": "user", "content": prompts.refused_message(refused)},
        ]
    return nodes.escalate_node(
        node_id=node_id,
        depth=depth,
        reason=f"the next step the AI wrote was beyond L1 authority ({refused})",
        replaced=refused,
    )


def _refusal(node: dict, steps: list[WalkStep]) -> str:
    """Why a node may not be served: the hard floor, or a step already on the path."""
    violation = node_violation(nodes.as_checked(node))
    if violation:
        return violation
    if node["type"] in (nodes.QUESTION, nodes.INSTRUCTION):
        seen = {" ".join(s.node.get("text", "").casefold().split()) for s in steps}
        if " ".join(node["text"].casefold().split()) in seen:
            return "it repeats a step already on the path"
    return ""


def _message(walk: Walk, steps: list[WalkStep], depth: int) -> str:
    category = (
        L1Category.objects.filter(account_id=walk.account_id, key=walk.category).values("key", "label", "description")
        .first()
    )  # fmt: skip
    brief = (
        {"key": category["key"], "label": category["label"], "scope": category["description"]}
        if category
        else {"key": walk.category or "unknown", "label": "Not in the account's list", "scope": ""}
    )
    return prompts.node_message(problem=walk.problem, category=brief, path=path_for_ai(steps), depth=depth)


def path_for_ai(steps: list[WalkStep]) -> list[dict]:
    return [
        {
            "depth": s.order,
            "type": s.node.get("type", ""),
            "text": s.node.get("text", ""),
            "choice": s.answer,
            "answer": s.answer_label,
            "note": s.note,
        }
        for s in steps
        if s.answered
    ]
