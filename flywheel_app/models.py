"""Flows: the account's authored troubleshooting trees (SPEC §8)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from resolutionflow.accounts.models import TenantModel
from resolutionflow.taxonomy import Domain

from .trees import TreeError, validate_tree


class Flow(TenantModel):
    title = models.CharField(max_length=200)
    domain = models.CharField(max_length=32, choices=Domain.choices, default=Domain.OTHER)
    keywords = models.JSONField(
        default=list, blank=True, help_text="Phrases an intake would use, e.g. “outlook password prompt”."
    )
    when_to_use = models.TextField(blank=True)
    tree = models.JSONField(help_text="The troubleshooting tree (see flywheel_app/trees.py).")
    published = models.BooleanField(default=False, db_index=True)
    usage_count = models.PositiveIntegerField(default=0)
    success_count = models.PositiveIntegerField(default=0)
    last_matched_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(success_count__lte=models.F("usage_count")), name="flow_success_within_usage"
            ),
        ]
        indexes = [models.Index(fields=["account", "published"])]

    def __str__(self) -> str:
        return self.title

    @property
    def success_rate(self) -> float | None:
        return self.success_count / self.usage_count if self.usage_count else None

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.keywords, list) or not all(isinstance(k, str) for k in self.keywords):
            raise ValidationError({"keywords": "Keywords must be a list of phrases."})
        self.keywords = [" ".join(k.split()) for k in self.keywords if k.strip()]
        try:
            validate_tree(self.tree)
        except TreeError as exc:
            raise ValidationError({"tree": exc.errors}) from None

    def save(self, *args, **kwargs) -> None:
        # The tree is validated on every save, whoever saves it.
        try:
            validate_tree(self.tree)
        except TreeError as exc:
            raise ValidationError({"tree": exc.errors}) from None
        super().save(*args, **kwargs)


class FlowProposal(TenantModel):
    """What the flywheel proposes from a resolved session (or, with L1 walks, an AI-built walk):
    a new flow, or an enhancement of the flow the source followed (SPEC §8). Admins decide."""

    class Type(models.TextChoices):
        NEW_FLOW = "new_flow", "New flow"
        ENHANCEMENT = "enhancement", "Enhancement"

    class Source(models.TextChoices):
        SESSION_ANALYSIS = "session_analysis", "Session analysis"
        AI_REALTIME_L1 = "ai_realtime_l1", "AI-built L1 walk"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PUBLISHED = "published", "Published"
        DISMISSED = "dismissed", "Dismissed"
        REJECTED = "rejected", "Rejected"

    type = models.CharField(max_length=16, choices=Type.choices)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.SESSION_ANALYSIS)
    # The source: an engineer session or an AI-built L1 walk, exactly one of them.
    session = models.ForeignKey("sessions_app.AISession", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")  # fmt: skip
    walk = models.ForeignKey("l1_app.Walk", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="When to use it, in one or two sentences.")
    keywords = models.JSONField(default=list, blank=True)
    domain = models.CharField(max_length=32, choices=Domain.choices, blank=True)
    tree = models.JSONField(help_text="The proposed tree; unexplored branches are needs_review stubs.")
    target_flow = models.ForeignKey(Flow, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals")
    changes = models.TextField(blank=True, help_text="For an enhancement: where the session diverged, what changes.")
    validated_by_outcome = models.BooleanField(default=False, help_text="The source was resolved by this path.")
    evidence_session_ids = models.JSONField(default=list, blank=True)
    evidence_count = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    flow = models.ForeignKey(
        Flow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The flow it became."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A proposal comes from exactly one source, the one its `source` names.
            models.CheckConstraint(
                condition=Q(source="session_analysis", session__isnull=False, walk__isnull=True)
                | Q(source="ai_realtime_l1", walk__isnull=False, session__isnull=True),
                name="proposal_has_exactly_one_source",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", reviewed_at__isnull=True)
                | (~Q(status="pending") & Q(reviewed_at__isnull=False)),
                name="proposal_reviewed_when_decided",
            ),
        ]  # fmt: skip
        indexes = [models.Index(fields=["account", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def unexplored_count(self) -> int:
        return sum(1 for n in self.tree.get("nodes", []) if isinstance(n, dict) and n.get("needs_review"))
