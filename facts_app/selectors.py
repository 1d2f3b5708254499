from django.db.models import QuerySet

from sessions_app.models import AISession, LaneItem

from .models import Fact


def facts_live(*, session: AISession) -> QuerySet[Fact]:
    """Live facts, oldest first."""
    return Fact.objects.live().filter(session=session).order_by("created_at", "id")


def promotable_items(*, session: AISession, facts: list[Fact] | None = None) -> list[LaneItem]:
    """Answered questions and checks that no live fact rests on yet."""
    if facts is None:
        facts = list(facts_live(session=session))
    used = {f.source_ref for f in facts if f.source_ref}
    return [
        i for i in session.lane_items.filter(status=LaneItem.Status.ANSWERED).order_by("id") if i.public_id not in used
    ]
