"""What admins send when they decide a flow proposal (the review queue in the Django admin), and
the tree field that proposal's editor shares with the flow editor."""

import json

from django import forms
from django.forms.fields import InvalidJSONInput

from resolutionflow.taxonomy import Domain

from .analytics.base import PERIODS
from .models import FlowProposal
from .trees import TreeError, validate_tree

AS_VERSION, AS_NEW_FLOW = "version", "new"


def _ordered(value, keys: tuple[str, ...]):
    return {**{k: value[k] for k in keys if k in value}, **value} if isinstance(value, dict) else value


def readable_tree(tree):
    """The tree with "start" first and each node's keys in reading order, content unchanged (the
    database, jsonb, keeps keys in an order of its own)."""
    if not isinstance(tree, dict) or not isinstance(tree.get("nodes"), list):
        return tree
    nodes = []
    for node in tree["nodes"]:
        node = _ordered(node, ("id", "type", "text", "options", "next", "needs_review"))
        if isinstance(node, dict) and isinstance(node.get("options"), list):
            node["options"] = [_ordered(option, ("label", "next")) for option in node["options"]]
        nodes.append(node)
    return {**_ordered(tree, ("start", "nodes")), "nodes": nodes}


class TreeJSONField(forms.JSONField):
    """A tree as JSON a person edits (the flow editor, edit & publish): shown indented and in
    reading order, and a typing slip is pointed at by line and column."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except json.JSONDecodeError as error:
                raise forms.ValidationError(
                    f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).", code="invalid"
                ) from None
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, InvalidJSONInput):
            return value
        return json.dumps(readable_tree(value), indent=2, ensure_ascii=False)


class ProposalPublishForm(forms.Form):
    """Edit & publish: the tree as JSON (prefilled from the proposal), what the flow says about
    itself, and for an enhancement whether it becomes the target flow's new version or a new flow."""

    tree = TreeJSONField(
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "class": "tree-json", "spellcheck": "false"}),
        help_text='{"start": "<node id>", "nodes": [...]}: questions with options, instructions with next, '
        "resolutions. It is validated when you publish.",
    )
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"class": "vTextField"}))
    description = forms.CharField(
        required=False,
        label="When to use it",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "class": "vLargeTextField"}),
    )
    keywords = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60, "class": "vLargeTextField"}),
        help_text="One phrase per line, in the words an engineer or a ticket would use.",
    )
    domain = forms.ChoiceField(choices=Domain.choices)
    publish_as = forms.ChoiceField(
        label="Publish as",
        widget=forms.RadioSelect,
        required=False,
        help_text="A new version keeps the flow's title, description and domain, adds these keywords to its "
        "own, and takes this tree.",
    )

    def __init__(self, *args, proposal: FlowProposal, **kwargs) -> None:
        kwargs.setdefault(
            "initial",
            {
                "tree": proposal.tree,
                "title": proposal.title,
                "description": proposal.description,
                "keywords": "\n".join(proposal.keywords),
                "domain": proposal.domain or Domain.OTHER,
                "publish_as": AS_VERSION if proposal.target_flow_id else AS_NEW_FLOW,
            },
        )
        super().__init__(*args, **kwargs)
        target = proposal.target_flow if proposal.type == FlowProposal.Type.ENHANCEMENT else None
        if target is None:
            # A new-flow proposal (or an enhancement whose flow is gone) can only become a new flow.
            del self.fields["publish_as"]
        else:
            self.fields["publish_as"].required = True
            self.fields["publish_as"].choices = [
                (AS_VERSION, f"The new version of “{target.title}”"),
                (AS_NEW_FLOW, "A new flow (the current one stays as it is)"),
            ]

    def clean_tree(self) -> dict:
        tree = self.cleaned_data["tree"]
        try:
            validate_tree(tree)
        except TreeError as error:
            raise forms.ValidationError(error.errors) from None
        return tree

    def clean_keywords(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["keywords"].splitlines() if line.strip()]

    @property
    def as_new_flow(self) -> bool:
        return self.cleaned_data.get("publish_as", AS_NEW_FLOW) != AS_VERSION


class ProposalRejectForm(forms.Form):
    # Required by the service (its message is shown); the browser asks for it first.
    reason = forms.CharField(
        required=False,
        label="Why is it rejected?",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60, "required": True}),
    )


class GapDraftForm(forms.Form):
    """ "Draft a flow" from a knowledge gap of the analytics page: which gap, of which period."""

    gap = forms.CharField(max_length=300)
    days = forms.TypedChoiceField(choices=[(d, d) for d in PERIODS], coerce=int)
