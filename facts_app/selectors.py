from django.db import connection
from django.db.models import QuerySet

from sessions_app.models import AISession, LaneItem
from sessions_app.selectors import lane_count, session_lane

from .models import AIFeedback, Fact


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


def feedback_on_session(*, session: AISession, user) -> dict:
    """The votes on a session's AI outputs, in one read: the viewer's own vote on each output, and
    how many people found each one not helpful (a down-voted turn is marked in the history)."""
    mine: dict[tuple[str, int], AIFeedback] = {}
    down: dict[tuple[str, int], int] = {}
    for feedback in AIFeedback.objects.filter(session=session).only(
        "kind", "object_id", "user_id", "vote", "reason", "comment"
    ):
        key = (feedback.kind, feedback.object_id)
        if feedback.user_id == getattr(user, "pk", None):
            mine[key] = feedback
        if feedback.vote == AIFeedback.Vote.DOWN:
            down[key] = down.get(key, 0) + 1
    return {"mine": mine, "down": down}


def vote_context(*, session, kind: str, object_id: int, mine: AIFeedback | None, down_count: int) -> dict:
    """What the vote control of one output shows."""
    return {
        "session": session,
        "kind": kind,
        "kind_label": AIFeedback.Kind(kind).label,
        "object_id": object_id,
        "vid": f"vote-{kind}-{object_id}",
        "mine": mine,
        "down_count": down_count,
        "reasons": [(value, label) for value, label in AIFeedback.Reason.choices if value],
    }
