from django import template

from resolutionflow.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """A posted document (resolution note, escalation package, walk log) rendered from its markdown
    and sanitised: whatever the AI or an engineer wrote, no script, handler or javascript: link
    survives."""
    return render_markdown(text)
