"""The offline demo provider: deterministic, plausible answers with no network.

Each app registers a responder for its actions next to its prompts
(`@demo.responder("session_turn")` in `<app>/prompts.py`); `prompts` modules are imported
at start-up by `AIConfig.ready`. An action with no responder gets a generic answer built
from its schema, so demo mode never crashes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import AIRequest

Responder = Callable[["AIRequest"], Any]
_responders: dict[str, Responder] = {}


def responder(action: str) -> Callable[[Responder], Responder]:
    def register(fn: Responder) -> Responder:
        _responders[action] = fn
        return fn

    return register


def respond(request: AIRequest) -> Any:
    fn = _responders.get(request.action)
    if fn is not None:
        return fn(request)
    if request.schema is not None:
        return example_from_schema(request.schema)
    return "Demo mode: this answer comes from the offline demo provider."


def example_from_schema(schema: dict[str, Any]) -> Any:
    """A minimal value that satisfies `schema` (used for unknown actions and by the fake API)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if "anyOf" in schema or "oneOf" in schema:
        return example_from_schema((schema.get("anyOf") or schema.get("oneOf"))[0])
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example_from_schema(props[k]) for k in schema.get("required", props.keys()) if k in props}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example_from_schema(schema.get("items", {})) for _ in range(count)]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0.5 if schema.get("maximum", 1) <= 1 else 1))
    if kind == "boolean":
        return False
    return None
