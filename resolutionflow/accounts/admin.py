from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Account, AccountSettings, AuditLog, Notification, Team, User


class TenantScopedAdmin(admin.ModelAdmin):
    """Admin base for tenant rows: each staff admin sees and picks only their own account's rows.

    A platform superuser sees every account. Foreign-key and many-to-many choices are scoped
    the same way, and new rows are stamped with the admin's account.
    """

    # The lookup that ties a row to its account ("pk" for Account itself).
    tenant_lookup = "account_id"

    @property
    def tenant_field(self) -> str:
        return "account" if self.tenant_lookup == "account_id" else ""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.tenant_lookup: request.user.account_id})

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.tenant_field == "account":
            excluded.append("account")
        return excluded

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser and self.tenant_field == "account":
            obj.account_id = request.user.account_id
        super().save_model(request, obj, form, change)

    def _scope(self, request, field, kwargs):
        model = field.related_model
        if request.user.is_superuser:
            return
        if model is Account:
            kwargs["queryset"] = Account.objects.filter(pk=request.user.account_id)
        elif any(f.name == "account" for f in model._meta.get_fields()):
            kwargs["queryset"] = model._default_manager.filter(account_id=request.user.account_id)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope(request, db_field, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope(request, db_field, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    """For rows that change only through their services (the audit log, sessions, flow proposals):
    the admin shows them, and never adds, edits or deletes one."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(TenantScopedAdmin):
    tenant_lookup = "pk"
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Team)
class TeamAdmin(TenantScopedAdmin):
    list_display = ["name", "account"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(TenantScopedAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "l1_coverage", "is_active", "deleted_at"]
    list_filter = ["role", "is_active", "l1_coverage"]
    search_fields = ["email", "full_name"]
    filter_horizontal = ["teams"]
    readonly_fields = ["last_login", "date_joined", "deleted_at"]
    fieldsets = [
        (None, {"fields": ["account", "email", "password"]}),
        ("Profile", {"fields": ["full_name", "role", "teams", "l1_coverage"]}),
        ("Status", {"fields": ["is_active", "deleted_at", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["account", "email", "full_name", "role", "password1", "password2"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f != "account"]}) for name, opts in sets]

    def has_delete_permission(self, request, obj=None):
        # Users who own history are soft-deleted, never removed.
        return False


@admin.register(AccountSettings)
class AccountSettingsAdmin(TenantScopedAdmin):
    list_display = ["account", "updated_at"]


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ["created_at", "action", "actor", "acting_as", "object_type", "object_id"]
    list_filter = ["action", "acting_as"]
    search_fields = ["action", "object_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]


@admin.register(Notification)
class NotificationAdmin(TenantScopedAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at"]
    list_filter = ["kind"]
    list_select_related = ["recipient"]
