"""The session's state_version: bumped inside the same transaction as every write that changes what
a preview would say (facts, the suggested fix, script generations), so a cached preview keyed by
(session, state_version) is never stale and concurrent writers never lose an increment."""

from django.db import transaction
from django.db.models import F

from sessions_app.models import AISession


def session_bump_state_version(*, session_id: int) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Bump state_version inside the transaction of the write it versions.")
    AISession.objects.filter(pk=session_id).update(state_version=F("state_version") + 1)
