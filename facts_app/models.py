"""What we know: confirmed facts of a session (SPEC §3)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from resolutionflow.accounts.models import TenantModel

MAX_FACT_CHARS = 300


class FactQuerySet(models.QuerySet):
    def live(self) -> "FactQuerySet":
        return self.filter(deleted_at__isnull=True)


class Fact(TenantModel):
    class SourceType(models.TextChoices):
        QUESTION = "question", "Question"
        DIAGNOSTIC_CHECK = "diagnostic_check", "Diagnostic check"
        USER_NOTE = "user_note", "Note"
        AI_SYNTHESIS = "ai_synthesis", "AI synthesis"

    # Facts that rest on a lane item; they change by changing that item, not at the card.
    SOURCED = (SourceType.QUESTION, SourceType.DIAGNOSTIC_CHECK)
    EDITABLE = (SourceType.USER_NOTE, SourceType.AI_SYNTHESIS)

    session = models.ForeignKey("sessions_app.AISession", on_delete=models.CASCADE, related_name="facts")
    text = models.CharField(max_length=MAX_FACT_CHARS)
    source_type = models.CharField(max_length=20, choices=SourceType.choices)
    source_ref = models.CharField(max_length=12, blank=True, help_text="The stable id of the lane item (Q1, C2…).")
    summary = models.CharField(max_length=80, blank=True, help_text="Provenance in 3–7 words.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = FactQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["session", "deleted_at", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="fact_text_required"),
            models.CheckConstraint(
                condition=(Q(source_type__in=["question", "diagnostic_check"]) & ~Q(source_ref=""))
                | (Q(source_type__in=["user_note", "ai_synthesis"]) & Q(source_ref="")),
                name="fact_source_ref_iff_sourced",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_editable(self) -> bool:
        return self.source_type in self.EDITABLE
