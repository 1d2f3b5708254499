"""What L1 techs (and the admins editing the category allowlist) send, validated with Django forms."""

from django import forms

from flywheel_app.models import Flow, FlowProposal
from l1_app.models import Walk
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
    reason = forms.CharField(label="What should an engineer know?", max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
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
        return data


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
