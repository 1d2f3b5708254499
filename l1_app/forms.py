"""What L1 techs (and the admins editing the category allowlist) send, validated with Django forms."""

import uuid
from collections.abc import Iterable

from django import forms

from flywheel_app.models import Flow, FlowProposal
from l1_app.models import L1Category, Walk
from resolutionflow.psa.models import InternalTicket

# --- walks


class WalkIntakeForm(forms.Form):
    """The intake: the problem against a ticket, and how to walk it ("auto" lets the app decide)."""

    TICKET_CHOICES = [
        ("new", "New internal ticket"),
        ("internal", "Existing internal ticket"),
        ("psa", "PSA ticket number"),
    ]
    HOW_CHOICES = [
        ("auto", "Find the right walk"),
        ("classify", "Not that flow: find another way"),
        ("flow", "Walk a flow"),
        ("proposal", "Walk a proposed flow"),
        ("ad_hoc", "Walk ad hoc"),
        ("build", "Build a walk with the AI"),
        ("escalate", "Escalate now"),
    ]

    problem = forms.CharField(
        label="What is the problem?",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "What the customer sees, in their words"}),
        error_messages={"required": "Describe the problem first."},
    )
    customer_name = forms.CharField(label="Customer name", max_length=200, required=False)
    customer_contact = forms.CharField(label="Customer contact", max_length=200, required=False,
                                       help_text="Phone or e-mail")  # fmt: skip
    ticket_kind = forms.ChoiceField(label="Ticket", choices=TICKET_CHOICES, initial="new", widget=forms.RadioSelect)
    internal_ticket = forms.ModelChoiceField(label="Internal ticket", queryset=InternalTicket.objects.none(),
                                             required=False)  # fmt: skip
    psa_ticket_ref = forms.CharField(label="PSA ticket number", max_length=64, required=False)
    # One of HOW_CHOICES, or "flow:<id>" (a nearest flow's own button).
    how = forms.CharField(max_length=32, required=False)
    flow = forms.ModelChoiceField(label="Flow", queryset=Flow.objects.none(), required=False)
    proposal = forms.ModelChoiceField(label="Proposed flow", queryset=FlowProposal.objects.none(), required=False)
    category = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    # One intake, one walk: a form sent twice (a retry on a flaky network, a double tap) starts one.
    intake_key = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    reason = forms.CharField(label="What should an engineer know?", max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["intake_key"].initial = uuid.uuid4().hex
        self.fields["internal_ticket"].queryset = InternalTicket.objects.for_account(account).filter(
            status=InternalTicket.Status.OPEN
        )
        self.fields["flow"].queryset = Flow.objects.for_account(account).filter(published=True).order_by("title")
        self.fields["proposal"].queryset = FlowProposal.objects.for_account(account).filter(
            status=FlowProposal.Status.APPROVED
        )

    def clean(self):
        data = super().clean()
        kind = data.get("ticket_kind")
        if kind == "internal" and not data.get("internal_ticket"):
            self.add_error("internal_ticket", "Choose the internal ticket.")
        if kind == "psa" and not (data.get("psa_ticket_ref") or "").strip():
            self.add_error("psa_ticket_ref", "Give the PSA ticket number.")
        how = data.get("how") or "auto"
        if how.startswith("flow:"):
            data["flow"] = self.fields["flow"].queryset.filter(pk=how[5:]).first() if how[5:].isdigit() else None
            how = "flow"
        if how not in dict(self.HOW_CHOICES):
            self.add_error(None, "Choose how to walk this problem.")
        data["how"] = how
        if how == "flow" and not data.get("flow"):
            self.add_error("flow", "Choose a flow to walk.")
        if how == "proposal" and not data.get("proposal"):
            self.add_error("proposal", "Choose a proposed flow to walk.")
        category = data.get("category") or ""
        if category and not L1Category.objects.filter(account=self.account, key=category).exists():
            data["category"] = ""  # not one of the account's: the intake classifies again
        return data


class UseFlowForm(forms.Form):
    """When the AI could build nothing: one of the account's published flows instead."""

    flow = forms.ModelChoiceField(
        queryset=Flow.objects.none(),
        error_messages={
            "required": "Choose one of the flows shown.",
            "invalid_choice": "Choose one of the flows shown.",
        },
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["flow"].queryset = Flow.objects.for_account(account).filter(published=True)


class AnswerForm(forms.Form):
    """Which of the served node's choices was tapped. The label is the served node's, never sent."""

    value = forms.CharField(max_length=16, error_messages={"required": "Choose one of the answers."})
    note = forms.CharField(max_length=2000, required=False)


class NotesForm(forms.Form):
    # The size limit (256 KB) is the service's: a clear message, and what was saved stays.
    notes = forms.CharField(required=False, strip=False, widget=forms.Textarea)


class ResolveForm(forms.Form):
    helpful = forms.TypedChoiceField(
        label="Did the walk help?",
        choices=[("yes", "Yes, the steps fixed it"), ("no", "No, it was fixed another way")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the walk helped."},
    )
    notes = forms.CharField(
        label="What fixed it",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what fixed it (or what you did), so the ticket has it."},
    )


class EscalateForm(forms.Form):
    category = forms.ChoiceField(
        label="Why does it need an engineer?",
        choices=Walk.EscalationCategory.choices,
        error_messages={"required": "Choose why it needs an engineer."},
    )
    reason = forms.CharField(
        label="What should the engineer know?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what an engineer needs to know."},
    )


# --- the category allowlist

MAX_LABEL_CHARS = 120  # L1Category.label
MAX_DESCRIPTION_CHARS = 1000
MAX_KEYWORDS = 50
MAX_KEYWORD_CHARS = 60


def keywords_as_text(keywords: list[str]) -> str:
    """A category's keywords as the editor shows them: one comma-separated line."""
    return ", ".join(keywords)


def keywords_normalise(parts: Iterable[str]) -> list[str]:
    """Each keyword trimmed, its inner spaces collapsed; empties and repeats (ignoring case)
    dropped, in the order given. The form and the services both keep keywords this way."""
    keywords: list[str] = []
    seen: set[str] = set()
    for part in parts:
        keyword = " ".join(str(part).split())
        if keyword and keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    return keywords


class L1CategoryForm(forms.Form):
    """Adding or editing a category of the allowlist. The key is not asked for: a new category's
    is made from its label, and an existing one's never changes (walks refer to it)."""

    label = forms.CharField(
        label="Label",
        max_length=MAX_LABEL_CHARS,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={
            "required": "Give the category a label, e.g. Scanner paper jam.",
            "max_length": f"Keep the label short (at most {MAX_LABEL_CHARS} characters).",
        },
    )
    description = forms.CharField(
        label="What an L1 tech may do",
        max_length=MAX_DESCRIPTION_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The steps the AI-built walk keeps to, e.g. check the paper path, restart the scanner.",
        error_messages={
            "required": "Say what an L1 tech may do for this category: the AI-built walk keeps to it.",
            "max_length": f"Keep the description to {MAX_DESCRIPTION_CHARS} characters.",
        },
    )
    keywords = forms.CharField(
        label="Keywords",
        required=False,
        max_length=MAX_KEYWORDS * (MAX_KEYWORD_CHARS + 2),
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Comma-separated words a problem description may use, e.g. scanner, paper jam.",
        error_messages={"max_length": f"Too many keywords: give at most {MAX_KEYWORDS}, separated by commas."},
    )

    def clean_keywords(self) -> list[str]:
        """Comma-separated text → a list (see keywords_normalise)."""
        keywords = keywords_normalise(self.cleaned_data["keywords"].replace("\n", ",").split(","))
        for keyword in keywords:
            if len(keyword) > MAX_KEYWORD_CHARS:
                raise forms.ValidationError(
                    f"“{keyword[:30]}…” is too long for a keyword (at most {MAX_KEYWORD_CHARS} characters); "
                    "separate keywords with commas."
                )
        if len(keywords) > MAX_KEYWORDS:
            raise forms.ValidationError(f"Give at most {MAX_KEYWORDS} keywords (you gave {len(keywords)}).")
        return keywords

    def focus_first_error(self) -> None:
        """Put the cursor in the first field to fix when the form is drawn again (htmx focuses an
        [autofocus] element it swaps in; a full page is helped by static/js/app.js)."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return


class L1CategoryAllowedForm(forms.Form):
    """The Allowed switch: it sends the state wanted, not "toggle", so a double tap cannot undo itself."""

    allowed = forms.TypedChoiceField(
        choices=[("true", "Allowed"), ("false", "Not allowed")],
        coerce=lambda value: value == "true",
        error_messages={
            "required": "Say whether the category is allowed.",
            "invalid_choice": "Say whether the category is allowed (true or false).",
        },
    )
