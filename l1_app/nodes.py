"""The nodes a walk serves, in the one shape the walk page and the answer service read (SPEC §7).

A served node (stored on `WalkStep.node`, exactly as shown):
    {"id": str, "type": "question" | "instruction" | "resolved" | "escalate", "text": str,
     "choices": [{"value": str, "label": str, "next": str | None}, ...],
     "reason": str (escalate), "replaced": str (why the floor replaced what the AI wrote),
     "depth": int (AI-built)}
A question has two choices (yes / no with the labels the tech sees) or, from a flow, one per
option (value = the option's index); an instruction has one ("done"); resolved and escalate none.
`next` is the flow node an answer leads to (flows and proposals only); the page never shows it.
"""

import re
from typing import Any

from flywheel_app.trees import STUB_TEXT

QUESTION, INSTRUCTION, RESOLVED, ESCALATE = "question", "instruction", "resolved", "escalate"
TERMINAL = frozenset({RESOLVED, ESCALATE})
EXHAUSTED = "exhausted safe steps"
_LABEL_MAX = 60


def _clean(text: Any, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


def yes_no_labels(raw: dict[str, Any]) -> tuple[str, str]:
    """A question's two labels: the AI's when both are present and distinct, else Yes / No."""
    yes, no = _clean(raw.get("yes_label"), _LABEL_MAX), _clean(raw.get("no_label"), _LABEL_MAX)
    if not yes or not no or yes.casefold() == no.casefold():
        return "Yes", "No"
    return yes, no


def from_ai(raw: dict[str, Any], *, node_id: str, depth: int) -> dict[str, Any]:
    """What the AI wrote, as the node the server serves."""
    kind = raw.get("type")
    node: dict[str, Any] = {"id": node_id, "type": kind, "text": _clean(raw.get("text"), 600), "depth": depth}
    if kind == QUESTION:
        yes, no = yes_no_labels(raw)
        node["choices"] = [{"value": "yes", "label": yes}, {"value": "no", "label": no}]
    elif kind == INSTRUCTION:
        node["choices"] = [{"value": "done", "label": "Done"}]
    else:
        node["choices"] = []
        if kind == ESCALATE:
            node["reason"] = _clean(raw.get("reason"), 300) or EXHAUSTED
    return node


def escalate_node(*, node_id: str, depth: int, reason: str, text: str = "", replaced: str = "") -> dict[str, Any]:
    node = {
        "id": node_id,
        "type": ESCALATE,
        "text": text or "This needs an engineer. Escalate the ticket with what you have found so far.",
        "choices": [],
        "reason": reason,
        "depth": depth,
    }
    if replaced:
        node["replaced"] = replaced
    return node


def as_checked(node: dict[str, Any]) -> dict[str, Any]:
    """The parts of a served node the safety floor reads (l1_app.safety.node_violation)."""
    checked = {"type": node["type"], "text": node["text"]}
    if node["type"] == QUESTION:
        checked["yes_label"], checked["no_label"] = (c["label"] for c in node["choices"])
    return checked


def from_tree(tree: dict[str, Any], node_id: str) -> dict[str, Any] | None:
    """A flow's (or proposal's) node as served; None when the tree has no such node."""
    raw = next((n for n in tree.get("nodes", []) if isinstance(n, dict) and n.get("id") == node_id), None)
    if raw is None:
        return None
    text = _clean(raw.get("text"), 2000)
    if raw.get("needs_review") or text == STUB_TEXT:
        return escalate_node(
            node_id=node_id,
            depth=0,
            reason="this branch of the flow is not written yet",
            text="This branch of the flow has not been written yet. Escalate with what you found.",
        )
    if raw.get("type") == "question":
        choices = [
            {"value": str(i), "label": _clean(o.get("label"), 120), "next": o.get("next")}
            for i, o in enumerate(raw.get("options") or [])
            if isinstance(o, dict)
        ]
        return {"id": node_id, "type": QUESTION, "text": text, "choices": choices}
    if raw.get("type") == "instruction":
        return {
            "id": node_id,
            "type": INSTRUCTION,
            "text": text,
            "choices": [{"value": "done", "label": "Done", "next": raw.get("next")}],
        }
    return {"id": node_id, "type": RESOLVED, "text": text, "choices": []}


_HARDWARE = re.compile(r"\b(hardware|repair|broken|faulty|replace(ment)?|damaged?)\b", re.I)
_RAN_OUT = re.compile(r"exhausted safe steps|step limit|-step limit", re.I)


def escalation_category_for(reason: str) -> str:
    """The reason category an escalate node suggests (the tech may change it): a Walk.EscalationCategory value."""
    if _HARDWARE.search(reason or ""):
        return "hardware"
    if _RAN_OUT.search(reason or ""):
        return "safe_steps_exhausted"
    return "beyond_l1"


def choice_for(node: dict[str, Any], value: str) -> dict[str, Any] | None:
    return next((c for c in node.get("choices", []) if c.get("value") == value), None)
