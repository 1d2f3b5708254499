"""The session's state_version: bumped inside the same transaction as every write that changes what
a preview would say (facts, the suggested fix, script generations), so a cached preview keyed by
(session, state_version) is never stale and concurrent writers never lose an increment."""

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q

from sessions_app.models import AISession
from sessions_app.selectors import session_page_epoch_key

# The sets `watch_state_versions` opened in this context: every bumped session id is added to each.
_watchers: contextvars.ContextVar[tuple[set[int], ...]] = contextvars.ContextVar("state_watchers", default=())


def session_bump_state_version(*, session_id: int, where: Q | None = None) -> bool:
    """Bump, inside the transaction of the write it versions. With `where`, only while the session
    row still matches it (the guard's conditional form); returns whether it bumped."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Bump state_version inside the transaction of the write it versions.")
    rows = AISession.objects.filter(Q(pk=session_id) & (where or Q())).update(state_version=F("state_version") + 1)
    if rows:
        for bumped in _watchers.get():
            bumped.add(session_id)
    return bool(rows)


@contextmanager
def watch_state_versions() -> Iterator[set[int]]:
    """The ids of the sessions whose state_version was bumped inside the block, so a view knows
    which regions a write changed without reading the session back."""
    bumped: set[int] = set()
    token = _watchers.set((*_watchers.get(), bumped))
    try:
        yield bumped
    finally:
        _watchers.reset(token)


def session_page_changed(*, session_id: int) -> None:
    """For a write that changes what the session page shows without touching the session row (a
    ticket push's status, the token totals): the cached page body is not served again. Once the
    write is committed, so a page drawn in between cannot be kept under the new epoch."""
    transaction.on_commit(lambda: counter_bump(session_page_epoch_key(session_id)))


def counter_bump(key: str) -> None:
    """Move a cached version counter on (atomic on Redis). A counter the cache lost starts again
    from the clock, never from a small number an old entry could still carry."""
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, time.time_ns(), timeout=None)
