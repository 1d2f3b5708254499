from django import template

from l1_app.selectors import l1_escalations_waiting

register = template.Library()


@register.inclusion_tag("l1_app/partials/_escalations_waiting.html", takes_context=True)
def l1_escalations_waiting_section(context, heading: str = "From L1 walks"):
    """The latest escalated walks no engineer has taken on yet, for the pages engineers look at
    (the escalation queue, their home): sessions_app and the core render it without importing us."""
    user = context["user"]
    walks = l1_escalations_waiting(account_id=user.account_id) if user.can_use_sessions else []
    return {"walks": walks, "heading": heading, "shown": user.can_use_sessions}


@register.filter
def first_line(text: str) -> str:
    """The first line with words on it (a walk's problem as a title)."""
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
