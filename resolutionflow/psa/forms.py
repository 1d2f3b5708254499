from django import forms


class InternalTicketForm(forms.Form):
    title = forms.CharField(max_length=200, strip=True, error_messages={"required": "Give the ticket a title."})
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, strip=True)


class PSAConnectionForm(forms.Form):
    """The ConnectWise connection. The private key is never rendered back: with one saved, an
    empty field keeps it."""

    site = forms.CharField(
        label="Site host", max_length=253, strip=True,
        help_text="The host you open ConnectWise on, e.g. na.myconnectwise.net (no https://).",
        error_messages={"required": "Give the ConnectWise site host, e.g. na.myconnectwise.net."},
    )  # fmt: skip
    company_id = forms.CharField(
        label="Company id", max_length=64, strip=True, help_text="The company you log in to ConnectWise with.",
        error_messages={"required": "Give the company id you log in to ConnectWise with."},
    )  # fmt: skip
    public_key = forms.CharField(
        label="Public key", max_length=64, strip=True, help_text="The API member's public key.",
        error_messages={"required": "Give the API member's public key."},
    )  # fmt: skip
    private_key = forms.CharField(
        label="Private key", max_length=200, required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip

    def __init__(self, *args, key_set: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["private_key"]
        if key_set:
            field.label = "Replace the private key"
            field.help_text = "A private key is set and is never shown again. Leave this empty to keep it."
        else:
            field.required = True
            field.error_messages["required"] = "Give the API member's private key."
            field.help_text = "The API member's private key. Stored encrypted; never shown again."


class PSAStatusesForm(forms.Form):
    """The board and the statuses chosen from its statuses (choices filled from ConnectWise)."""

    board = forms.TypedChoiceField(label="Service board", coerce=int, required=False, empty_value=None)
    resolved_status = forms.TypedChoiceField(
        label="Resolved status", coerce=int, required=False, empty_value=None,
        help_text="Where a resolved session moves the ticket. Empty: the status is left as it is.",
    )  # fmt: skip
    escalated_status = forms.TypedChoiceField(
        label="Escalated status", coerce=int, required=False, empty_value=None,
        help_text="Where an escalation moves the ticket. Empty: the status is left as it is.",
    )  # fmt: skip

    def __init__(self, *args, boards: list[dict], statuses: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.boards, self.statuses = boards, statuses
        self.fields["board"].choices = [("", "—")] + [(b["id"], b["name"]) for b in boards]
        status_choices = [("", "— leave the status —")] + [(s["id"], s["name"]) for s in statuses]
        self.fields["resolved_status"].choices = status_choices
        self.fields["escalated_status"].choices = status_choices

    def chosen(self, name: str, items: list[dict]) -> dict | None:
        wanted = self.cleaned_data.get(name)
        return next(({"id": i["id"], "name": i["name"]} for i in items if i["id"] == wanted), None)


class PSAMemberAssignForm(forms.Form):
    user = forms.IntegerField(widget=forms.HiddenInput)
    member = forms.TypedChoiceField(label="ConnectWise member", coerce=int, required=False, empty_value=None)

    def __init__(self, *args, members: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.members = members
        self.fields["member"].choices = [("", "— no member —")] + [
            (m["id"], f"{' '.join(filter(None, [m.get('firstName'), m.get('lastName')]))} ({m.get('identifier')})")
            for m in members
        ]

    def chosen_member(self) -> dict | None:
        wanted = self.cleaned_data.get("member")
        return next((m for m in self.members if m["id"] == wanted), None)
