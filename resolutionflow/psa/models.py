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
