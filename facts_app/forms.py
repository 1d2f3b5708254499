from django import forms

from sessions_app.models import Escalation

from .models import MAX_FACT_CHARS, AIFeedback


class FactForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_FACT_CHARS, strip=True,
        error_messages={"required": "Write the fact: one short sentence.",
                        "max_length": f"Keep a fact to one short sentence (at most {MAX_FACT_CHARS} characters)."},
    )  # fmt: skip
    summary = forms.CharField(max_length=80, required=False, strip=True)


class PromoteForm(FactForm):
    """Promoting an answer: `draft` asks the AI for a draft (nothing saved); `save` saves the
    engineer's own text, or the AI's draft as edited."""

    action = forms.ChoiceField(choices=[("save", "Save"), ("draft", "Draft with AI")], required=False)
    text = forms.CharField(max_length=MAX_FACT_CHARS, strip=True, required=False)
    # Set by the AI draft's confirm form: the fact saved is the AI's (it can be rated).
    drafted = forms.BooleanField(required=False)


class PreviewForm(forms.Form):
    """Asking for a preview: what the engineer has typed under "How was it resolved?" so far, and
    (escalating with a fix to account for) how they say the fix went, not recorded yet."""

    summary = forms.CharField(max_length=5000, required=False, strip=True)
    intercept = forms.ChoiceField(
        choices=[(c, label) for c, label in Escalation.Intercept.choices if c], required=False
    )
    intercept_note = forms.CharField(max_length=2000, required=False, strip=True)


class FeedbackForm(forms.Form):
    """A thumbs up or down on one AI output, with an optional reason and comment for a down-vote."""

    vote = forms.ChoiceField(
        choices=AIFeedback.Vote.choices,
        error_messages={"required": "Say whether it was helpful or not.", "invalid_choice": "Helpful or not helpful."},
    )
    reason = forms.ChoiceField(
        choices=AIFeedback.Reason.choices,
        required=False,
        error_messages={"invalid_choice": "Choose one of the reasons."},
    )
    comment = forms.CharField(max_length=1000, required=False, strip=True)
