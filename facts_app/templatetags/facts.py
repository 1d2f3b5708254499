from django import template

from facts_app.selectors import facts_panel
from resolutionflow.markdown import render_markdown

register = template.Library()


@register.inclusion_tag("facts_app/partials/_what_we_know.html")
def what_we_know(session, oob: bool = False):
    """The panel inside the session page's lane (sessions_app renders it without importing us);
    `oob` when it rides out of band on another region's response."""
    return {**facts_panel(session=session), "oob": oob}


@register.filter(name="markdown")
def markdown_filter(text: str):
    """AI-written markdown, rendered and sanitised (no script, handler or javascript: link survives)."""
    return render_markdown(text)


@register.inclusion_tag("facts_app/partials/_preview.html")
def preview_region(session, kind: str):
    """The preview region before it has loaded (it loads when its box opens)."""
    return {"session": session, "kind": kind, "unloaded": True}
