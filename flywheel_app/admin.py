from django import forms
from django.contrib import admin
from django.template.loader import render_to_string

from resolutionflow.accounts.admin import TenantScopedAdmin

from .models import Flow, FlowProposal
from .trees import tree_outline


class FlowAdminForm(forms.ModelForm):
    keywords = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One phrase per line, in the words an engineer or a ticket would use.",
    )

    class Meta:
        model = Flow
        fields = "__all__"
        widgets = {"tree": forms.Textarea(attrs={"rows": 18, "cols": 100, "style": "font-family: monospace"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.keywords, list):
            self.initial["keywords"] = "\n".join(self.instance.keywords)

    def clean_keywords(self):
        return [line.strip() for line in self.cleaned_data["keywords"].splitlines() if line.strip()]


@admin.register(Flow)
class FlowAdmin(TenantScopedAdmin):
    form = FlowAdminForm
    list_display = ["title", "domain", "published", "usage_count", "success_rate_display", "last_matched_at"]
    list_filter = ["published", "domain"]
    search_fields = ["title", "when_to_use"]
    readonly_fields = [
        "tree_view",
        "usage_count",
        "success_count",
        "last_matched_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "domain", "keywords", "when_to_use", "published"]}),
        ("Tree", {"fields": ["tree_view", "tree"], "description": "Edit the JSON; it is validated on save."}),
        (
            "Usage",
            {"fields": ["usage_count", "success_count", "last_matched_at", "created_by", "created_at", "updated_at"]},
        ),
    ]
    actions = ["publish", "unpublish"]

    @admin.display(description="Success rate")
    def success_rate_display(self, obj):
        return "—" if obj.success_rate is None else f"{obj.success_rate:.0%}"

    @admin.display(description="Readable tree")
    def tree_view(self, obj):
        if not obj.pk:
            return "Save the flow to see its tree."
        return render_to_string("flywheel_app/partials/_tree_outline.html", {"items": tree_outline(obj.tree)})

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Publish selected flows")
    def publish(self, request, queryset):
        queryset.update(published=True)

    @admin.action(description="Unpublish selected flows")
    def unpublish(self, request, queryset):
        queryset.update(published=False)

    def get_changeform_initial_data(self, request):
        # The value itself: the form field writes it out as JSON once (a string here was written
        # out a second time, as one long escaped string the form then refused).
        return {"tree": EXAMPLE_TREE}


# Shape only: placeholders an admin replaces, never realistic content.
EXAMPLE_TREE = {
    "start": "q1",
    "nodes": [
        {
            "id": "q1",
            "type": "question",
            "text": "<question>",
            "options": [{"label": "<answer A>", "next": "i1"}, {"label": "<answer B>", "next": "r2"}],
        },
        {"id": "i1", "type": "instruction", "text": "<what to do>", "next": "r1"},
        {"id": "r1", "type": "resolution", "text": "<the fix>"},
        {"id": "r2", "type": "resolution", "text": "<the other fix>"},
    ],
}


@admin.register(FlowProposal)
class FlowProposalAdmin(TenantScopedAdmin):
    """The review queue (SPEC §8): decided through flywheel_app.services."""

    list_display = ["title", "type", "source", "status", "domain", "evidence_count", "created_at"]
    list_filter = ["type", "source", "status", "domain", "validated_by_outcome"]
    search_fields = ["title", "description"]
