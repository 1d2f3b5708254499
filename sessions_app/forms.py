import math

from django import forms
from django.core.exceptions import ValidationError

from resolutionflow.psa.models import InternalTicket
from resolutionflow.taxonomy import Domain

from .models import AISession, SessionStep

MAX_SCREENSHOT_BYTES = 5 * 1024 * 1024


def sniff_image_type(head: bytes) -> str | None:
    """The image type from the file's own bytes, never from its name or the browser's claim."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class SessionStartForm(forms.Form):
    intake_type = forms.ChoiceField(
        choices=[
            ("text", "Describe it"),
            ("log", "Paste a log"),
            ("internal_ticket", "Internal ticket"),
            ("psa_ticket", "PSA ticket"),
        ],
        initial="text",
        widget=forms.RadioSelect,
    )
    intake_text = forms.CharField(
        required=False,
        max_length=200_000,
        strip=True,
        label="What's wrong?",
        widget=forms.Textarea(
            attrs={"rows": 7, "placeholder": "Paste the ticket text or describe the problem in your own words"}
        ),
    )
    screenshot = forms.FileField(required=False, help_text="PNG, JPEG or WebP, at most 5 MB.")
    internal_ticket = forms.ModelChoiceField(
        queryset=InternalTicket.objects.none(), required=False, empty_label="Pick a ticket…"
    )
    psa_ticket_ref = forms.CharField(required=False, max_length=40, label="PSA ticket number", strip=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["internal_ticket"].queryset = (
            InternalTicket.objects.for_account(user.account_id)
            .filter(status=InternalTicket.Status.OPEN)
            .order_by("-number")
        )

    def clean_screenshot(self):
        upload = self.cleaned_data.get("screenshot")
        if not upload:
            return None
        if upload.size > MAX_SCREENSHOT_BYTES:
            # Rounded up, so a file just over the limit never reads as "5.0 MB; the limit is 5 MB".
            size_mb = math.ceil(upload.size / 1024 / 1024 * 10) / 10
            raise ValidationError(f"The screenshot is {size_mb:.1f} MB; screenshots may be at most 5 MB.")
        head = upload.read(16)
        upload.seek(0)
        kind = sniff_image_type(head)
        if kind is None:
            raise ValidationError("The screenshot must be a PNG, JPEG or WebP image.")
        upload.content_type = kind
        return upload

    def clean_psa_ticket_ref(self):
        ref = self.cleaned_data["psa_ticket_ref"].lstrip("#").strip()
        if ref and not ref.isalnum():
            raise ValidationError("A PSA ticket number is letters and digits only, e.g. 12345.")
        return ref

    def clean(self):
        data = super().clean()
        kind = data.get("intake_type")
        if kind == "internal_ticket" and not data.get("internal_ticket"):
            self.add_error("internal_ticket", "Pick the internal ticket to work.")
        elif kind == "psa_ticket" and not data.get("psa_ticket_ref"):
            self.add_error("psa_ticket_ref", "Give the PSA ticket number.")
        elif kind in ("text", "log") and not data.get("intake_text") and not data.get("screenshot"):
            self.add_error("intake_text", "Describe the problem, paste a log or attach a screenshot.")
        return data


class AnswerForm(forms.Form):
    """One form for every kind of answer. Each submit button carries one name/value, so the kind
    is inferred when not given: an option value → option, worked → action result, else free text."""

    kind = forms.ChoiceField(choices=SessionStep.ResponseKind.choices, required=False)
    value = forms.CharField(required=False, max_length=200)
    text = forms.CharField(
        required=False,
        strip=True,
        max_length=10_000,
        error_messages={"max_length": "The answer is too long (at most 10,000 characters)."},
    )
    worked = forms.TypedChoiceField(
        choices=[("", ""), ("yes", "Worked"), ("no", "Didn't work")],
        required=False,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
    )

    def clean(self):
        data = super().clean()
        if not data.get("kind"):
            if data.get("value"):
                data["kind"] = SessionStep.ResponseKind.OPTION
            elif data.get("worked") is not None:
                data["kind"] = SessionStep.ResponseKind.ACTION_RESULT
            else:
                data["kind"] = SessionStep.ResponseKind.FREE_TEXT
        return data


class LaneAnswerForm(forms.Form):
    answer = forms.CharField(
        strip=True, max_length=10_000, error_messages={"required": "Type an answer before saving."}
    )


class ResolveForm(forms.Form):
    summary = forms.CharField(
        strip=True,
        max_length=5000,
        label="How was it resolved?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say how the problem was resolved."},
    )
    action = forms.CharField(
        strip=True,
        max_length=5000,
        required=False,
        label="What did you change? (optional)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The resolution note as the engineer confirmed it in the preview (empty: drafted at resolve).
    note = forms.CharField(max_length=20000, required=False, strip=True, widget=forms.HiddenInput)


class EscalateForm(forms.Form):
    """Escalate (SPEC §2): the intercept question is bound only when the fix needs it."""

    intercept = forms.ChoiceField(
        label="First: how did the fix go?",
        choices=[
            ("worked", "It worked"),
            ("didnt", "It didn't work"),
            ("partly", "It partly worked"),
            ("never_applied", "It was never applied"),
        ],
        initial="didnt",
        widget=forms.RadioSelect,
        required=False,
    )
    intercept_note = forms.CharField(
        label="What happened? (optional)", max_length=2000, required=False, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )  # fmt: skip
    reason = forms.CharField(
        label="Why escalate? What should the next engineer know first?",
        max_length=2000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why you are escalating: what the next engineer should know first."},
    )
    target = forms.TypedChoiceField(
        label="To (optional)", coerce=int, required=False, empty_value=None,
        error_messages={
            "invalid_choice": "Pick another engineer of your account, or leave it empty "
            "(not yourself: pause the session instead)."
        },
    )  # fmt: skip
    package = forms.CharField(max_length=20000, required=False, strip=True, widget=forms.HiddenInput)

    def __init__(self, *args, targets=(), needs_intercept: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "Anyone on the team")] + [
            (u.pk, u.get_full_name() or u.email) for u in targets
        ]
        self.needs_intercept = needs_intercept
        if needs_intercept:
            self.fields["intercept"].required = True
            self.fields["intercept"].error_messages["required"] = "Say how the fix went before you escalate."
        else:
            del self.fields["intercept"], self.fields["intercept_note"]


class ClaimForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("continue", "Continue where it was"), ("fresh", "Start from fresh context")],
        initial="continue",
        widget=forms.RadioSelect,
    )
    fresh_context = forms.CharField(
        label="Fresh context for the AI", max_length=10000, required=False, strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What you know now that the session did not"}),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if data.get("mode") == "fresh" and not data.get("fresh_context"):
            self.add_error("fresh_context", "Write the fresh context the AI should start from.")
        return data


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        choices=[(i, str(i)) for i in range(1, 6)],
        coerce=int,
        error_messages={"required": "Pick a rating from 1 to 5.", "invalid_choice": "Pick a rating from 1 to 5."},
    )
    feedback = forms.CharField(required=False, strip=True, max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class LinkTicketForm(forms.Form):
    psa_ticket_ref = forms.CharField(required=False, max_length=40, strip=True, label="PSA ticket number")
    internal_ticket = forms.ModelChoiceField(
        queryset=InternalTicket.objects.none(), required=False, empty_label="or an internal ticket…"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["internal_ticket"].queryset = InternalTicket.objects.for_account(user.account_id).order_by(
            "-number"
        )


class SessionFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, strip=True)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *AISession.Status.choices])
    domain = forms.ChoiceField(required=False, choices=[("", "Any domain"), *Domain.choices])
