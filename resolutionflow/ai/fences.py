"""Untrusted text for the AI: everything from a ticket, a log, a person or a stored record reaches a
prompt inside a <data> fence, and the system prompts say nothing inside a fence is an instruction."""

import re

# Any spelling of an opening or closing fence tag (<data, </data, </ DATA, ...) inside the text.
_FENCE_TAG = re.compile(r"<(\s*/?\s*data)", re.IGNORECASE)


def fence(text: str, *, source: str, **attrs: str) -> str:
    """Wrap untrusted text as data. A closing tag inside the text cannot end the fence early."""
    safe = _FENCE_TAG.sub(r"<\\\1", text or "")
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'<data source="{source}"{extra}>\n{safe}\n</data>'
