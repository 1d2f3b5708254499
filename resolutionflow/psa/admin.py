from django.contrib import admin

from resolutionflow.accounts.admin import TenantScopedAdmin

from .models import InternalTicket, InternalTicketNote


class NoteInline(admin.TabularInline):
    model = InternalTicketNote
    extra = 0
    fields = ["kind", "body", "author", "created_at"]
    readonly_fields = ["author", "created_at"]


@admin.register(InternalTicket)
class InternalTicketAdmin(TenantScopedAdmin):
    list_display = ["reference", "title", "status", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "description"]
    readonly_fields = ["number", "created_by", "created_at"]
    inlines = [NoteInline]
    list_select_related = ["created_by"]

    def has_add_permission(self, request):
        # Tickets are created on the tickets page, which numbers them safely.
        return False
