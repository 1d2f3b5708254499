from django import forms
from django.contrib import admin

from resolutionflow.accounts.admin import TenantScopedAdmin

from .models import AISession, ScriptTemplate, SessionStep


class ScriptTemplateForm(forms.ModelForm):
    class Meta:
        model = ScriptTemplate
        exclude = ["deleted_at", "source_session", "usage_count"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 14, "cols": 100, "style": "font-family: monospace"}),
            "parameters": forms.Textarea(attrs={"rows": 8, "cols": 100, "style": "font-family: monospace"}),
        }
        help_texts = {
            "parameters": (
                'A list like [{"key": "<key>", "label": "<label>", '
                '"type": "text|number|choice|boolean|password", "required": true, "default": null}]; '
                'choice parameters add "choices": [...].'
            ),
        }


@admin.register(ScriptTemplate)
class ScriptTemplateAdmin(TenantScopedAdmin):
    form = ScriptTemplateForm
    list_display = ["name", "category", "visibility", "team", "usage_count", "is_active"]
    list_filter = ["visibility", "is_active", "category"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    list_select_related = ["team"]

    def save_model(self, request, obj, form, change):
        if not change and obj.owner_id is None:
            obj.owner = request.user
        super().save_model(request, obj, form, change)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)


class StepInline(admin.TabularInline):
    model = SessionStep
    extra = 0
    can_delete = False
    fields = ["order", "step_type", "title", "response_kind", "response_label", "confidence"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AISession)
class AISessionAdmin(TenantScopedAdmin):
    """Read-only: sessions change only through the session page and its services."""

    list_display = [
        "id",
        "problem_summary",
        "owner",
        "status",
        "problem_domain",
        "confidence_tier",
        "step_count",
        "last_activity_at",
    ]
    list_filter = ["status", "problem_domain", "confidence_tier", "analysis_status"]
    search_fields = ["problem_summary", "intake_content", "psa_ticket_ref"]
    list_select_related = ["owner"]
    inlines = [StepInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
