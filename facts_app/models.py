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
    # Saved from the AI's draft (Draft a fact), confirmed or edited by the engineer (issue 16: rated).
    ai_drafted = models.BooleanField(default=False)

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

    @property
    def ai_written(self) -> bool:
        """Drafted by the AI: promoted by a turn itself (no author), or drafted on request and saved."""
        return self.ai_drafted or (self.author_id is None and self.source_type in self.SOURCED)


class AIFeedback(TenantModel):
    """One person's thumbs up or down on one AI output (issue 16 §2): a turn, a suggested fix, a
    drafted fact, a resolution note or an escalation package as posted. The output is named by kind
    and id (each kind is checked to belong to the session, and the session to the voter's account,
    by `services.feedback_record`); the session is kept for the analytics' domain and links. The
    action, tier and model are those of the AI call that wrote it. One vote per person per output;
    voting again changes it."""

    class Kind(models.TextChoices):
        TURN = "turn", "AI turn"
        FIX = "fix", "Suggested fix"
        FACT = "fact", "Drafted fact"
        RESOLUTION_NOTE = "resolution_note", "Resolution note"
        ESCALATION_PACKAGE = "escalation_package", "Escalation package"

    class Vote(models.TextChoices):
        UP = "up", "Helpful"
        DOWN = "down", "Not helpful"

    class Reason(models.TextChoices):
        NONE = "", "No reason given"
        WRONG = "wrong", "Wrong or inaccurate"
        IRRELEVANT = "irrelevant", "Not relevant to the problem"
        UNCLEAR = "unclear", "Unclear"
        INCOMPLETE = "incomplete", "Missing something"
        UNSAFE = "unsafe", "Unsafe or risky"
        OTHER = "other", "Other"

    session = models.ForeignKey("sessions_app.AISession", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_id = models.BigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    vote = models.CharField(max_length=4, choices=Vote.choices)
    reason = models.CharField(max_length=12, choices=Reason.choices, blank=True, default="")
    comment = models.TextField(blank=True, max_length=1000)
    action = models.CharField(max_length=48)
    tier = models.CharField(max_length=16)
    model = models.CharField(max_length=80)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["session", "kind", "object_id"], name="feedback_output"),
            models.Index(fields=["account", "updated_at"], name="feedback_account_updated"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "object_id"], name="feedback_one_vote_per_person"),
            models.CheckConstraint(condition=Q(vote__in=["up", "down"]), name="feedback_vote_up_or_down"),
            models.CheckConstraint(
                condition=Q(kind__in=["turn", "fix", "fact", "resolution_note", "escalation_package"]),
                name="feedback_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(vote="down") | (Q(reason="") & Q(comment="")), name="feedback_reason_only_when_down"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_vote_display()} on {self.kind} {self.object_id}"
