from django import template

from facts_app.selectors import facts_live, promotable_items

register = template.Library()


def panel_context(session, **extra) -> dict:
    facts = list(facts_live(session=session))
    return {"session": session, "facts": facts, "promotable": promotable_items(session=session, facts=facts), **extra}


@register.inclusion_tag("facts_app/partials/_what_we_know.html")
def what_we_know(session):
    """The panel inside the session page's lane (sessions_app renders it without importing us)."""
    return panel_context(session)


@register.filter(name="markdown")
def markdown_filter(text: str):
    """AI-written markdown, rendered and sanitised (no script, handler or javascript: link survives)."""
    from resolutionflow.markdown import render_markdown

    return render_markdown(text)


@register.inclusion_tag("facts_app/partials/_preview.html")
def preview_region(session, kind: str):
    """The preview region before it has loaded (it loads when its box opens)."""
    return {"session": session, "kind": kind, "unloaded": True}
