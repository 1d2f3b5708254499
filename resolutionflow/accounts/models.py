"""Tenancy: Account (one MSP), Team, User, per-account settings, audit log, notifications."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Account(models.Model):
    """One MSP: the tenant. Every tenant row points here."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    def for_account(self, account: "Account | int") -> "TenantQuerySet":
        account_id = account if isinstance(account, int) else account.pk
        return self.filter(account_id=account_id)


class TenantModel(models.Model):
    """Abstract base of every row that belongs to one account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Team(TenantModel):
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="team_unique_name_per_account"),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    ENGINEER = "engineer", "Engineer"
    L1_TECH = "l1_tech", "L1 technician"


ENGINEER_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.ENGINEER})
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class UserQuerySet(TenantQuerySet):
    def usable(self) -> "UserQuerySet":
        """Users who may log in, be notified or be picked as a target."""
        return self.filter(is_active=True, deleted_at__isnull=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        """A platform operator: sees every account in the Django admin."""
        fields["is_superuser"] = True
        fields.setdefault("role", Role.OWNER)
        if "account" not in fields and "account_id" not in fields:
            fields["account"], _ = Account.objects.get_or_create(slug="platform", defaults={"name": "Platform"})
        return self._create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Logs in by e-mail. Belongs to one account and has one role."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="users")
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ENGINEER)
    teams = models.ManyToManyField(Team, blank=True, related_name="members")
    l1_coverage = models.BooleanField(
        default=False, help_text="Engineer who may also use the L1 walk page (audited as l1_coverage)."
    )
    is_active = models.BooleanField(default=True, help_text="Deactivated users cannot log in.")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Soft delete: set, never removed.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(l1_coverage=False) | Q(role=Role.ENGINEER),
                name="user_l1_coverage_only_for_engineers",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email.split("@")[0]

    @property
    def is_usable(self) -> bool:
        return self.is_active and self.deleted_at is None

    @property
    def is_staff(self) -> bool:
        """Staff rights in the Django admin come from the role, never from a flag."""
        return self.is_usable and (self.is_superuser or self.role in ADMIN_ROLES)

    @property
    def can_use_sessions(self) -> bool:
        return self.is_usable and self.role in ENGINEER_ROLES

    @property
    def can_use_l1(self) -> bool:
        return self.is_usable and (self.role == Role.L1_TECH or (self.role == Role.ENGINEER and self.l1_coverage))

    @property
    def can_admin(self) -> bool:
        return self.is_usable and self.role in ADMIN_ROLES

    @property
    def l1_acting_as(self) -> str:
        """What an L1 action by this user is audited as."""
        return "l1_coverage" if self.role == Role.ENGINEER else "l1_tech"

    def has_perm(self, perm: str, obj=None) -> bool:
        if self.is_staff and not self.is_superuser:
            # Account admins manage their own account's rows; querysets are scoped in the admin.
            return perm.split(".", 1)[0] in TENANT_ADMIN_APP_LABELS
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_staff and not self.is_superuser:
            return app_label in TENANT_ADMIN_APP_LABELS
        return super().has_module_perms(app_label)


TENANT_ADMIN_APP_LABELS = frozenset({"accounts", "psa", "ai", "sessions_app", "facts_app", "l1_app", "flywheel_app"})


class AccountSettings(TenantModel):
    """One JSON preferences row per account, created on first use, merged on update."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="settings")
    preferences = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "account settings"

    def __str__(self) -> str:
        return f"Settings of {self.account}"


class AuditLog(TenantModel):
    """Who did what to which object, acting as what, when. Written by services only."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    acting_as = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"


class NotificationQuerySet(TenantQuerySet):
    def unread(self) -> "NotificationQuerySet":
        return self.filter(read_at__isnull=True)


class Notification(TenantModel):
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=48)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
