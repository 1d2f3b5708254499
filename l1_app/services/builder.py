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
from django.db import transaction
from django.utils import timezone

from l1_app import nodes, prompts
from l1_app.models import L1Category, Walk, WalkStep
from l1_app.safety import floor_violation, node_violation
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
        lease = now + timedelta(seconds=_lease_seconds())
        locked.building_until = lease
        locked.save(update_fields=["building_until"])
    # Only the holder of this lease clears it or reports on it: a request whose lease ran out while
    # the AI wrote must not undo what the next holder did.
    mine = Walk.objects.filter(pk=walk.pk, building_until=lease)
    order = len(steps) + 1
    node_id = f"n{order}"
    try:
        node = _next_node(locked, steps, node_id=node_id, depth=order, actor=actor)
    except AIError as exc:
        retry_at = timezone.now() + timedelta(seconds=exc.retry_after) if exc.busy and exc.retry_after else None
        mine.update(building_until=None, build_problem=exc.message[:300], build_retry_at=retry_at)
        return Built(problem=exc.message)
    except BaseException:
        mine.update(building_until=None)
        raise
    with transaction.atomic():
        current = Walk.objects.select_for_update().get(pk=walk.pk)
        served = WalkStep.objects.filter(walk=current, order=order).first()
        if served is not None:
            # Another request (its lease after ours ran out) served this node first: serve the same.
            mine.update(building_until=None)
            return Built(step=served)
        if (current.status != Walk.Status.ACTIVE or current.kind != Walk.Kind.AI_BUILT
                or current.steps.count() != len(steps)):  # fmt: skip
            # The walk moved on while the AI wrote (resolved, escalated, gone ad hoc): nothing is stored.
            mine.update(building_until=None)
            return Built()
        step = WalkStep.objects.create(account_id=walk.account_id, walk=current, order=order, node_id=node_id,
                                       node=node)  # fmt: skip
        Walk.objects.filter(pk=walk.pk).update(building_until=None, build_problem="", build_retry_at=None)
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
        if node["type"] == nodes.ESCALATE:
            # Handing over is always right: wording the floor refuses is replaced, not regenerated.
            return _safe_escalate(node)
        refused = _refusal(node, steps)
        if not refused:
            return node
        logger.info("walk %s: node refused (attempt %s): %s", walk.pk, attempt, refused)
        messages += [
            {"role": "assistant", "content": json.dumps(raw, ensure_ascii=False)},
            {"role": "user", "content": prompts.refused_message(refused)},
        ]
    if refused == REPEATS:
        return nodes.escalate_node(node_id=node_id, depth=depth, reason=nodes.EXHAUSTED, replaced=refused)
    return nodes.escalate_node(
        node_id=node_id,
        depth=depth,
        reason=f"the next step the AI wrote was beyond L1 authority ({refused})",
        replaced=refused,
    )


REPEATS = "it repeats a step already on the path"


def _safe_escalate(node: dict) -> dict:
    """An escalate node as the AI wrote it, with any text or reason the floor refuses replaced:
    the tech reads both, and the reason goes on to the engineers and the ticket."""
    text_refused = floor_violation(node["text"])
    reason_refused = floor_violation(node["reason"])
    if not text_refused and not reason_refused:
        return node
    logger.info("escalate node reworded: %s", text_refused or reason_refused)
    return nodes.escalate_node(
        node_id=node["id"],
        depth=node["depth"],
        reason="an engineer must take over" if reason_refused else node["reason"],
        text="" if text_refused else node["text"],
        replaced=text_refused or reason_refused,
    )


def _refusal(node: dict, steps: list[WalkStep]) -> str:
    """Why a node may not be served: the hard floor, or a step already on the path."""
    violation = node_violation(nodes.as_checked(node))
    if violation:
        return violation
    if node["type"] in (nodes.QUESTION, nodes.INSTRUCTION):
        seen = {" ".join(s.node.get("text", "").casefold().split()) for s in steps}
        if " ".join(node["text"].casefold().split()) in seen:
            return REPEATS
    return ""


def _message(walk: Walk, steps: list[WalkStep], depth: int) -> str:
    rows = L1Category.objects.filter(account_id=walk.account_id, key=walk.category)
    category = rows.values("key", "label", "description", "allowed").first()
    # A build the tech forced on a category the account does not allow gets no scope to lean on.
    brief = (
        {"key": category["key"], "label": category["label"], "scope": category["description"]}
        if category and category["allowed"]
        else {"key": walk.category or "unknown", "label": "Not on the account's L1 list", "scope": ""}
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
