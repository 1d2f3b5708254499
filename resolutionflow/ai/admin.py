from django.contrib import admin

from resolutionflow.accounts.admin import TenantScopedAdmin

from .models import AIUsage


@admin.register(AIUsage)
class AIUsageAdmin(TenantScopedAdmin):
    list_display = [
        "created_at",
        "action",
        "model",
        "outcome",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "latency_ms",
    ]
    list_filter = ["action", "outcome", "model", "provider"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
