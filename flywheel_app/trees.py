"""Troubleshooting trees: their shape and their validation (SPEC §8).

A tree is JSON: {"start": "<node id>", "nodes": [<node>, ...]} where a node is one of
  {"id", "type": "question",    "text", "options": [{"label", "next"}, ...]}   (2 or more options)
  {"id", "type": "instruction", "text", "next"}
  {"id", "type": "resolution",  "text"}
Valid means: node ids unique and non-empty, every `next` names a node, every node reachable from
`start`, no cycles, every branch ends in a resolution, every text and option label present.
"""

from collections.abc import Iterator
from typing import Any

NODE_TYPES = ("question", "instruction", "resolution")


class TreeError(ValueError):
    """The tree is not valid; `errors` lists every reason, readable by an admin."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def validate_tree(tree: Any) -> None:
    errors = list(_tree_errors(tree))
    if errors:
        raise TreeError(errors)


def _tree_errors(tree: Any) -> Iterator[str]:
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), list) or not tree["nodes"]:
        yield 'The tree must be an object with "start" and a non-empty list of "nodes".'
        return
    nodes: dict[str, dict] = {}
    for index, node in enumerate(tree["nodes"]):
        if not isinstance(node, dict):
            yield f"Node #{index + 1} is not an object."
            continue
        node_id = str(node.get("id") or "").strip()
        if not node_id:
            yield f"Node #{index + 1} has no id."
            continue
        if node_id in nodes:
            yield f"Node id '{node_id}' is used more than once."
            continue
        nodes[node_id] = node
    for node_id, node in nodes.items():
        yield from _node_errors(node_id, node, nodes)
    start = tree.get("start")
    if start not in nodes:
        yield f"The start node '{start}' does not exist."
        return
    yield from _graph_errors(start, nodes)


def _node_errors(node_id: str, node: dict, nodes: dict[str, dict]) -> Iterator[str]:
    kind = node.get("type")
    if kind not in NODE_TYPES:
        yield f"Node '{node_id}' has type '{kind}'; expected one of {', '.join(NODE_TYPES)}."
        return
    if not str(node.get("text") or "").strip():
        yield f"Node '{node_id}' has no text."
    if kind == "question":
        options = node.get("options")
        if not isinstance(options, list) or len(options) < 2:
            yield f"Question '{node_id}' needs at least two options."
            return
        labels = []
        for number, option in enumerate(options, 1):
            label = str((option or {}).get("label") or "").strip() if isinstance(option, dict) else ""
            if not label:
                yield f"Option {number} of question '{node_id}' has no label."
            labels.append(label.lower())
            target = option.get("next") if isinstance(option, dict) else None
            if target not in nodes:
                yield f"Option '{label or number}' of question '{node_id}' leads to missing node '{target}'."
        if len(set(labels)) != len(labels):
            yield f"Question '{node_id}' has two options with the same label."
    elif kind == "instruction" and node.get("next") not in nodes:
        yield f"Instruction '{node_id}' leads to missing node '{node.get('next')}'."


def _children(node: dict) -> list[str]:
    if node.get("type") == "question":
        return [o.get("next") for o in node.get("options") or [] if isinstance(o, dict)]
    if node.get("type") == "instruction":
        return [node.get("next")]
    return []


def _graph_errors(start: str, nodes: dict[str, dict]) -> Iterator[str]:
    # Iterative DFS with colours: grey = on the current path (a back edge is a cycle).
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(nodes, white)
    cycles: list[str] = []
    stack: list[tuple[str, Iterator[str]]] = [(start, iter(_children(nodes[start])))]
    colour[start] = grey
    while stack:
        node_id, children = stack[-1]
        child = next(children, None)
        if child is None:
            colour[node_id] = black
            stack.pop()
            continue
        if child not in nodes:
            continue
        if colour[child] == grey:
            cycles.append(f"{node_id} → {child}")
        elif colour[child] == white:
            colour[child] = grey
            stack.append((child, iter(_children(nodes[child]))))
    for edge in cycles:
        yield f"The tree has a cycle ({edge}); every branch must end."
    unreachable = sorted(n for n, c in colour.items() if c == white)
    if unreachable:
        yield f"Nodes not reachable from the start: {', '.join(unreachable)}."


def tree_text(tree: dict) -> str:
    """All node texts and option labels, for search."""
    parts: list[str] = []
    for node in tree.get("nodes", []) if isinstance(tree, dict) else []:
        if isinstance(node, dict):
            parts.append(str(node.get("text") or ""))
            parts.extend(str(o.get("label") or "") for o in node.get("options") or [] if isinstance(o, dict))
    return " ".join(p for p in parts if p)


def tree_outline(tree: dict) -> list[dict]:
    """The tree as nested items from the start, for a readable view: [{node, via, children}]."""
    nodes = {n["id"]: n for n in tree.get("nodes", []) if isinstance(n, dict) and n.get("id")}

    def walk(node_id: str, via: str, seen: frozenset) -> dict:
        node = nodes.get(node_id, {"id": node_id, "type": "missing", "text": "(missing node)"})
        if node_id in seen:
            return {"node": node, "via": via, "children": [], "loop": True}
        seen = seen | {node_id}
        if node.get("type") == "question":
            kids = [walk(o.get("next"), o.get("label", ""), seen) for o in node.get("options", [])]
        elif node.get("type") == "instruction":
            kids = [walk(node.get("next"), "then", seen)]
        else:
            kids = []
        return {"node": node, "via": via, "children": kids, "loop": False}

    start = tree.get("start") if isinstance(tree, dict) else None
    return [walk(start, "", frozenset())] if start in nodes else []


STUB_TEXT = "Not explored yet: the session that proposed this never took this branch. Review it."


def tree_with_stubs(tree: dict) -> dict:
    """The tree with every dangling branch made explicit: a question option or an instruction whose
    `next` names no node leads to a `needs_review` resolution stub instead of nowhere. The rest is
    left to `validate_tree`."""
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), list):
        return tree
    nodes = [dict(n) for n in tree["nodes"] if isinstance(n, dict)]
    ids = {str(n.get("id")) for n in nodes}
    stubs: list[dict] = []

    def stub() -> str:
        stub_id = f"stub{len(stubs) + 1}"
        while stub_id in ids:
            stub_id += "x"
        ids.add(stub_id)
        stubs.append({"id": stub_id, "type": "resolution", "text": STUB_TEXT, "needs_review": True})
        return stub_id

    for node in nodes:
        if node.get("type") == "question" and isinstance(node.get("options"), list):
            node["options"] = [
                {**o, "next": o.get("next") if o.get("next") in ids else stub()}
                for o in node["options"]
                if isinstance(o, dict)
            ]
        elif node.get("type") == "instruction" and node.get("next") not in ids:
            node["next"] = stub()
    return {**tree, "nodes": nodes + stubs}


def question_text_key(text: Any) -> str:
    """A question's text as compared with a flow's: case, spacing and closing punctuation aside."""
    return " ".join(str(text or "").casefold().split()).rstrip(" ?.!:")


def question_node_id(tree: Any, text: str) -> str:
    """The id of the tree's question node that asks `text` (see `question_text_key`), else ""."""
    key = question_text_key(text)
    if not key or not isinstance(tree, dict):
        return ""
    for node in tree.get("nodes") or []:
        if isinstance(node, dict) and node.get("type") == "question" and question_text_key(node.get("text")) == key:
            return str(node.get("id") or "")[:40]
    return ""
