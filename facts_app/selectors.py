from django.db import connection
from django.db.models import QuerySet

from sessions_app.models import AISession, LaneItem
from sessions_app.selectors import lane_count, session_lane

from .models import Fact


def facts_live(*, session: AISession) -> QuerySet[Fact]:
    """Live facts, oldest first."""
    return Fact.objects.live().filter(session=session).order_by("created_at", "id")


def promotable_items(*, session: AISession, facts: list[Fact], items: list[LaneItem]) -> list[LaneItem]:
    """Answered questions and checks that no live fact rests on yet."""
    used = {f.source_ref for f in facts if f.source_ref}
    return [i for i in items if i.status == LaneItem.Status.ANSWERED and i.public_id not in used]


def facts_panel(*, session: AISession) -> dict:
    """The What-we-know panel and the Tasks count beside it, from two reads: the live facts and
    the session's lane items."""
    facts = list(facts_live(session=session))
    items = list(session.lane_items.order_by("id"))
    return {
        "session": session,
        "facts": facts,
        "promotable": promotable_items(session=session, facts=facts, items=items),
        "lane_count": lane_count(session=session, lane=session_lane(session=session, items=items), facts=len(facts)),
    }


def facts_counts(*, session: AISession) -> tuple[int, int]:
    """The live facts and the Tasks count (open questions and checks, and the facts): what changes
    beside the list when a note is added — on the path of every fact write, so one round trip.
    Written as SQL: two scalar counts in one statement, which the ORM would build as a join or
    spend longer composing than the database spends answering."""
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {Fact._meta.db_table} WHERE session_id = %s AND deleted_at IS NULL),"  # noqa: S608
        f" (SELECT COUNT(*) FROM {LaneItem._meta.db_table} WHERE session_id = %s AND status = %s AND last_step = %s)"
    )  # (table names from the models; every value is a parameter)
    with connection.cursor() as cursor:
        cursor.execute(sql, [session.pk, session.pk, LaneItem.Status.OPEN, session.step_count])
        facts, open_items = cursor.fetchone()
    return facts, open_items + facts
