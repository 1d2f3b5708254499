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
    beside the list when a note is added. Two plain counts (one query with two subqueries costs
    more to build than to send)."""
    facts = Fact.objects.live().filter(session=session).count()
    open_items = LaneItem.objects.filter(
        session=session, status=LaneItem.Status.OPEN, last_step=session.step_count
    ).count()
    return facts, open_items + facts
