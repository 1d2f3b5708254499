from django import forms

from .models import MAX_FACT_CHARS


class FactForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_FACT_CHARS, strip=True,
        error_messages={"required": "Write the fact: one short sentence.",
                        "max_length": f"Keep a fact to one short sentence (at most {MAX_FACT_CHARS} characters)."},
    )  # fmt: skip
    summary = forms.CharField(max_length=80, required=False, strip=True)


class PromoteForm(FactForm):
    """Confirming a promotion: the engineer's own text, or the AI's draft as edited."""

    text = forms.CharField(max_length=MAX_FACT_CHARS, strip=True, required=False)
