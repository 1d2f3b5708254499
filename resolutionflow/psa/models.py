"""Internal tickets, for accounts without a PSA (and for L1 walks and sessions to point at)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from resolutionflow.accounts.models import TenantModel


class InternalTicket(TenantModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Escalated"

    number = models.PositiveIntegerField(help_text="Numbered per account: INT-1, INT-2, ...")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    resolution_notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="internal_ticket_number_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INT-{self.number}"


class InternalTicketNote(TenantModel):
    """A note posted to an internal ticket (resolution note, escalation package, walk log)."""

    class Kind(models.TextChoices):
        RESOLUTION = "resolution", "Resolution"
        INTERNAL = "internal", "Internal analysis"
        NOTE = "note", "Note"

    ticket = models.ForeignKey(InternalTicket, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class PSAConnection(TenantModel):
    """An account's ConnectWise Manage connection (SPEC §9). The private key is stored encrypted
    (resolutionflow.psa.crypto) and never shown again; the form only says it is set."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="psa_connection")
    site = models.CharField(max_length=253, help_text="Host only, e.g. na.myconnectwise.net")
    company_id = models.CharField(max_length=64)
    public_key = models.CharField(max_length=64)
    private_key_encrypted = models.TextField(help_text="Fernet token; never the key itself.")
    codebase = models.CharField(max_length=64, blank=True, help_text="From /login/companyinfo, cached.")
    codebase_site = models.CharField(max_length=253, blank=True, help_text="The site the codebase was read from.")
    board_id = models.PositiveIntegerField(null=True, blank=True)
    board_name = models.CharField(max_length=100, blank=True)
    resolved_status_id = models.PositiveIntegerField(null=True, blank=True)
    resolved_status_name = models.CharField(max_length=100, blank=True)
    escalated_status_id = models.PositiveIntegerField(null=True, blank=True)
    escalated_status_name = models.CharField(max_length=100, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "PSA connection"

    def __str__(self) -> str:
        return f"ConnectWise {self.site} ({self.company_id})"

    def status_for(self, name: str) -> tuple[int | None, str]:
        """(id, name) of the configured `resolved` or `escalated` status."""
        return getattr(self, f"{name}_status_id"), getattr(self, f"{name}_status_name")


class PSAMember(TenantModel):
    """Which ConnectWise member a user is (SPEC §9 "Engineers are mapped to PSA members")."""

    class Match(models.TextChoices):
        EMAIL = "email", "Matched by e-mail"
        MANUAL = "manual", "Assigned by hand"
        NONE = "none", "No member found"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="psa_member")
    member_id = models.PositiveIntegerField(null=True, blank=True)
    member_identifier = models.CharField(max_length=64, blank=True)
    member_name = models.CharField(max_length=200, blank=True)
    match = models.CharField(max_length=8, choices=Match.choices, default=Match.NONE)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(match="none", member_id__isnull=True, member_identifier="")
                | (~models.Q(match="none") & models.Q(member_id__isnull=False) & ~models.Q(member_identifier="")),
                name="psa_member_match_has_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} = {self.member_identifier or '(none)'}"
