import math

from django import forms
from django.core.exceptions import ValidationError

from resolutionflow.psa.models import InternalTicket
from resolutionflow.taxonomy import Domain
from sessions_app.models import AISession, ResolutionCode, SessionStep, SuggestedFix, TemplateDraft
from sessions_app.powershell import clean_parameter_values, parameters_from_placeholders

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
        error_messages={
            "required": "Choose what you start from: a description, a log, or a ticket.",
            "invalid_choice": "Choose what you start from: a description, a log, an internal or a PSA ticket.",
        },
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


class TurnRetryForm(forms.Form):
    """Asking the AI again for the next step; `shown` is how many steps the asking page shows."""

    shown = forms.IntegerField(required=False, min_value=0)


class LaneAnswerForm(forms.Form):
    answer = forms.CharField(
        strip=True, max_length=10_000, error_messages={"required": "Type an answer before saving."}
    )


class ResolveForm(forms.Form):
    code = forms.ChoiceField(
        label="How did it end?",
        choices=[(c, label) for c, label in ResolutionCode.choices if c],
        widget=forms.RadioSelect(attrs={"class": "resolution-code"}),
        error_messages={
            "required": "Choose a resolution code: how did it end?",
            "invalid_choice": "Choose one of the resolution codes.",
        },
    )
    duplicate_of = forms.CharField(
        label="Duplicate of",
        required=False,
        max_length=60,
        strip=True,
        help_text="Only for a duplicate: the other session (#123) or ticket (INT-7, PSA #4410).",
    )
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
    # The resolution note as the engineer confirmed it in the preview (empty: drafted at resolve),
    # and the resolution text that draft was made from (absent: not known).
    note = forms.CharField(max_length=20000, required=False, strip=True, widget=forms.HiddenInput)
    note_summary = forms.CharField(max_length=5000, required=False, strip=True)

    def clean_note_summary(self):
        return self.cleaned_data["note_summary"] if "note_summary" in self.data else None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("code") == ResolutionCode.DUPLICATE and not cleaned.get("duplicate_of"):
            self.add_error("duplicate_of", "A duplicate names what it repeats: a session number or a ticket.")
        return cleaned


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
    # How the fix went, as the previewed package was drafted from it (see services.escalations).
    package_drafted_from = forms.CharField(max_length=2100, required=False, strip=True, widget=forms.HiddenInput)
    # Set by the page once the engineer edits the previewed text (it then no longer refreshes).
    package_edited = forms.BooleanField(required=False, widget=forms.HiddenInput)

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
    code = forms.ChoiceField(
        required=False,
        label="Resolution code",
        choices=[("", "Any code"), *[(c or "none", label) for c, label in ResolutionCode.choices]],
    )


# --- the suggested fix and scripts (SPEC §4, §5) ------------------------------------------


class FixDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=SuggestedFix.Decision.choices,
        error_messages={"required": "Choose what to do with the fix.", "invalid_choice": "Unknown decision."},
    )


class FixOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[(o, label) for o, label in SuggestedFix.Outcome.choices if o != SuggestedFix.Outcome.PROPOSED],
        error_messages={"required": "Say how the fix went.", "invalid_choice": "Unknown outcome."},
    )
    note = forms.CharField(required=False, max_length=2000, strip=True)


class AIOutcomeForm(forms.Form):
    """The one click that confirms (or turns down) the outcome the AI read from the conversation."""

    answer = forms.ChoiceField(
        choices=[("confirm", "Yes, record it"), ("reject", "Not quite")],
        error_messages={"required": "Confirm or turn down the outcome.", "invalid_choice": "Confirm or turn down."},
    )


class ScriptBuilderForm(forms.Form):
    """The script builder: what the engineer asks the AI for, and the script as it stands."""

    request = forms.CharField(
        required=False, max_length=2000, strip=True,
        error_messages={"max_length": "Say what the script should do in at most 2,000 characters."},
    )  # fmt: skip
    body = forms.CharField(
        required=False, max_length=50_000, strip=False,
        error_messages={"max_length": "The script is too long (at most 50,000 characters)."},
    )  # fmt: skip


class ScriptGenerateForm(forms.Form):
    """Generating a script from a template: the template (one the user may use), then one field per
    parameter of its schema (`param_<key>`). Values are validated and quoted by the service against
    the same schema, so the messages match wherever a template is used."""

    template = forms.IntegerField(error_messages={"required": "Pick one of the offered templates.",
                                                  "invalid": "Pick one of the offered templates."})  # fmt: skip

    def __init__(self, *args, templates, **kwargs):
        """`templates(template_id)`: the template the user may use with that id, or None."""
        super().__init__(*args, **kwargs)
        self.template = None
        raw = self.data.get("template", "")
        if str(raw).isdigit():
            self.template = templates(int(raw))
        for param in self.template.parameters if self.template else []:
            self.fields[f"param_{param['key']}"] = forms.CharField(
                label=param.get("label") or param["key"], required=False, strip=param.get("type") != "password"
            )

    def clean_template(self):
        if self.template is None:
            raise ValidationError("Pick one of the offered templates.")
        return self.template

    def parameter_values(self) -> dict[str, str]:
        return {name.removeprefix("param_"): value for name, value in self.cleaned_data.items() if name != "template"}


class _ParameterField(forms.CharField):
    """A script parameter's value as typed: the schema, not the field, says whether it is required
    (`clean_parameter_values`, with its default), so the message is the same wherever it is asked."""

    def validate(self, value):
        pass


def _parameter_field(param: dict, initial) -> forms.Field:
    kind, label = param.get("type"), param.get("label") or param["key"]
    attrs = {"autocomplete": "off"}
    if kind == "number":
        widget = forms.NumberInput(attrs={**attrs, "step": "any"})
    elif kind == "choice":
        choices = [(str(c), str(c)) for c in param.get("choices") or []]
        widget = forms.Select(choices=choices if param.get("required") else [("", "—"), *choices])
    elif kind == "boolean":
        widget = forms.Select(choices=[("no", "No"), ("yes", "Yes")])
        initial = "yes" if initial in (True, "true", "yes", "1", 1) else "no"
    elif kind == "password":
        widget = forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False)
        initial = None  # a secret is typed each time, never filled in
    else:
        widget = forms.TextInput(attrs=attrs)
    return _ParameterField(
        label=label, required=bool(param.get("required")), strip=kind != "password", widget=widget,
        initial=initial, max_length=4000 if kind in ("text", "password") else None,
    )  # fmt: skip


class ScriptParametersForm(forms.Form):
    """The values a script asks for: one typed field per parameter of its schema, named
    `param_<key>` (text, number, choice, yes/no, password). Checked against the schema by
    `powershell.clean_parameter_values` — the service checks again — so each message stands beside
    its field and reads the same as anywhere else a template is used."""

    def __init__(self, data=None, *, parameters: list[dict], values: dict | None = None, **kwargs):
        kwargs.setdefault("auto_id", "run-%s")
        super().__init__(data, **kwargs)
        self.parameters = parameters
        values = values or {}
        for param in parameters:
            initial = values.get(param["key"], param.get("default"))
            self.fields[f"param_{param['key']}"] = _parameter_field(param, initial)

    def clean(self):
        data = super().clean()
        try:
            clean_parameter_values(self.parameters, self.values())
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(f"param_{key}", message)
        return data

    def values(self) -> dict[str, str]:
        """The values as sent (typed and quoted by the service)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {p["key"]: data.get(f"param_{p['key']}", "") for p in self.parameters}


def _split_choices(text: str) -> list[str]:
    return [c.strip() for c in (text or "").split(",") if c.strip()]


class TemplateEditorForm(forms.Form):
    """Build a template first (SPEC §5): the template as the engineer shapes it, with one row per
    {{ key }} of its body — label, type, required, default, choices — named `p_<key>_<what>`.
    The rows are those of the body as it was drawn; `rows_for` adds rows for placeholders written
    since, so a new placeholder is shown before it is saved."""

    name = forms.CharField(max_length=120, strip=True, error_messages={"required": "Give the template a name."})
    category = forms.CharField(required=False, max_length=60, strip=True)
    description = forms.CharField(
        required=False, max_length=2000, strip=True, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When to use it: it shows wherever the template is offered.",
    )  # fmt: skip
    body = forms.CharField(
        label="Script", max_length=50_000, strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono", "spellcheck": "false", "wrap": "off"}),
        help_text="PowerShell. A value that changes from one run to the next is a placeholder {{ key }} "
        "standing where code stands: <code>$name = {{ user_name }}</code>, then use <code>$name</code>.",
        error_messages={"required": "Write the script before saving it.",
                        "max_length": "The script is too long (at most 50,000 characters)."},
    )  # fmt: skip
    share = forms.BooleanField(required=False, label="Share with the team")

    TYPES = [("text", "Text"), ("number", "Number"), ("choice", "Choice from a list"), ("boolean", "Yes/no"),
             ("password", "Password (never kept)")]  # fmt: skip
    ROW_FIELDS = ("label", "type", "default", "required", "choices")

    def __init__(self, *args, parameters: list[dict], can_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_share:
            del self.fields["share"]
        self.rows = []
        for param in parameters:
            key, default = param["key"], param.get("default")
            fields = {
                "label": forms.CharField(label="Label", max_length=80, strip=True,
                                         error_messages={"required": f"Give {{{{ {key} }}}} a label."}),
                "type": forms.ChoiceField(label="Type", choices=self.TYPES),
                "required": forms.BooleanField(label="Required", required=False),
                "default": forms.CharField(label="Default", required=False, max_length=4000, strip=True),
                "choices": forms.CharField(label="Choices (for the choice type, separated by commas)",
                                           required=False, max_length=2000, strip=True),
            }  # fmt: skip
            initial = {
                "label": param.get("label", ""), "type": param.get("type", "text"),
                "required": param.get("required", True), "default": "" if default is None else str(default),
                "choices": ", ".join(str(c) for c in param.get("choices") or []),
            }  # fmt: skip
            for what, field in fields.items():
                field.initial = initial[what]
                self.fields[f"p_{key}_{what}"] = field
            self.rows.append({"key": key, "fields": [self[f"p_{key}_{what}"] for what in self.ROW_FIELDS]})

    @staticmethod
    def rows_for(body: str, data) -> tuple[list[dict], list[str]]:
        """The parameter rows for `body`: as sent for the placeholders that had a row, derived
        (`parameters_from_placeholders`) for the others, whose keys are returned too."""
        rows, new = [], []
        for param in parameters_from_placeholders(body):
            prefix = f"p_{param['key']}_"
            if prefix + "type" in data:
                param = {**param, "label": data.get(prefix + "label", ""), "type": data.get(prefix + "type"),
                         "required": bool(data.get(prefix + "required")), "default": data.get(prefix + "default"),
                         "choices": _split_choices(data.get(prefix + "choices", ""))}  # fmt: skip
            else:
                new.append(param["key"])
            rows.append(param)
        return rows, new

    def _param(self, key: str) -> dict:
        data = self.cleaned_data
        param = {"key": key, "label": data.get(f"p_{key}_label") or key, "type": data.get(f"p_{key}_type"),
                 "required": bool(data.get(f"p_{key}_required"))}  # fmt: skip
        if param["type"] == "choice":
            param["choices"] = _split_choices(data.get(f"p_{key}_choices", ""))
        return param

    def clean(self):
        data = super().clean()
        for row in self.rows:
            key = row["key"]
            param, default = self._param(key), data.get(f"p_{key}_default", "")
            if param["type"] == "choice" and not param["choices"]:
                self.add_error(f"p_{key}_choices", "List the choices, separated by commas.")
            elif param["type"] == "password" and default:
                self.add_error(f"p_{key}_default", "A password has no default: it is asked for each time.")
            elif param["type"] and default:
                try:
                    clean_parameter_values([param], {key: default})
                except ValidationError as exc:
                    self.add_error(f"p_{key}_default", " ".join(exc.message_dict[key]))
        return data

    def parameters(self) -> list[dict]:
        """The schema the rows describe (after `is_valid`): defaults typed as the schema types them."""
        out = []
        for row in self.rows:
            param, default = self._param(row["key"]), self.cleaned_data.get(f"p_{row['key']}_default", "")
            if default:
                param["default"] = clean_parameter_values([param], {row["key"]: default})[row["key"]]
            out.append(param)
        return out


class DraftDecisionForm(forms.Form):
    """After Resolve: save a queued draft as a template, or skip it."""

    draft = forms.ModelChoiceField(
        queryset=TemplateDraft.objects.none(),
        error_messages={"required": "Pick a draft.", "invalid_choice": "That draft is not one of this session's."},
    )
    action = forms.ChoiceField(
        choices=[("accept", "Save as template"), ("reject", "Skip")],
        error_messages={"required": "Save the draft or skip it.", "invalid_choice": "Save the draft or skip it."},
    )
    name = forms.CharField(required=False, max_length=120, strip=True)
    category = forms.CharField(required=False, max_length=60, strip=True)
    description = forms.CharField(required=False, max_length=2000, strip=True)
    remove = forms.MultipleChoiceField(required=False)
    share = forms.BooleanField(required=False)
    dont_ask = forms.BooleanField(required=False)

    def __init__(self, *args, session: AISession, **kwargs):
        super().__init__(*args, **kwargs)
        drafts = TemplateDraft.objects.filter(session=session, account_id=session.account_id)
        self.fields["draft"].queryset = drafts
        keys = sorted({p.get("key") for d in drafts.only("parameters") for p in d.parameters if p.get("key")})
        self.fields["remove"].choices = [(k, k) for k in keys]
