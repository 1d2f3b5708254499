"""The documents a session posts to its ticket — the resolution note and the escalation package —
are drafted by facts_app (they are built from What we know). facts_app registers its drafter here
when it loads, so sessions_app can ask for a document without importing the app built on it."""

from collections.abc import Callable

from resolutionflow.errors import ExternalServiceError

RESOLUTION_NOTE = "resolution_note"
ESCALATION_PACKAGE = "escalation_package"
KINDS = (RESOLUTION_NOTE, ESCALATION_PACKAGE)

_drafter: Callable | None = None


class NoDrafter(ExternalServiceError):
    default_message = "No document drafter is installed."


def register_drafter(fn: Callable) -> Callable:
    """fn(*, session, kind, actor) -> markdown; raises AIError when the AI fails."""
    global _drafter
    _drafter = fn
    return fn


def draft_document(*, session, kind: str, actor) -> str:
    if kind not in KINDS:
        raise ValueError(kind)
    if _drafter is None:
        raise NoDrafter()
    return _drafter(session=session, kind=kind, actor=actor)
