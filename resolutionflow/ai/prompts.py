"""Prompts the core owns: a tiny health-check used by the benchmark and smoke tests."""

from . import demo

HEALTHCHECK_SYSTEM = "You answer health checks for ResolutionFlow. Reply with a JSON object only."
HEALTHCHECK_SCHEMA = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["ok"]}},
    "required": ["status"],
    "additionalProperties": False,
}


@demo.responder("healthcheck")
def _demo_healthcheck(request) -> dict:
    return {"status": "ok"}
