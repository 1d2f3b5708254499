"""L1 walks (SPEC §7): a technician walks a troubleshooting tree against a ticket — an authored flow,
a flow proposal, a tree the AI builds one node at a time, or ad-hoc notes — and resolves or
escalates. The walk records each node as it was served and the answer given to it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from l1_app.categories import DEFAULT_CATEGORIES
from resolutionflow.accounts.models import TenantModel

DEFAULT_KEYS = frozenset(category.key for category in DEFAULT_CATEGORIES)


class L1Category(TenantModel):
    """One category of the account's L1 allowlist (SPEC §7 Safety): the problems its L1 techs may
    walk with an AI-built tree. Starts as the ten defaults; owners and admins edit it. Below it,
    the hard floor (l1_app/safety.py) holds whatever the list says."""

    key = models.SlugField(max_length=64)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True, help_text="What an L1 tech may do there.")
    keywords = models.JSONField(default=list, blank=True)
    allowed = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="l1_category_key_per_account")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_default(self) -> bool:
        """One of the ten defaults (switched off, never deleted), not one the account added."""
        return self.key in DEFAULT_KEYS


class Walk(TenantModel):
    class Kind(models.TextChoices):
        FLOW = "flow", "Flow"
        PROPOSAL = "proposal", "Flow proposal"
        AI_BUILT = "ai_built", "AI-built"
        AD_HOC = "ad_hoc", "Ad hoc"

    class EscalationCategory(models.TextChoices):
        BEYOND_L1 = "beyond_l1", "Needs an engineer's rights or tools"
        SAFE_STEPS_EXHAUSTED = "safe_steps_exhausted", "Safe steps ran out"
        OUT_OF_SCOPE = "out_of_scope", "Not an L1 problem"
        HARDWARE = "hardware", "Hardware looks faulty"
        CUSTOMER = "customer", "The customer asked for an engineer"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        ACTIVE = "active", "In progress"
        RESOLVED = "resolved", "Resolved"
        ESCALATED = "escalated", "Escalated"
        ABANDONED = "abandoned", "Abandoned"

    tech = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="walks")
    # Who the tech acted as: an L1 tech, or an engineer covering L1 (audited as "l1_coverage").
    acting_as = models.CharField(max_length=16, default="l1_tech")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    problem = models.TextField()
    category = models.CharField(max_length=64, blank=True, help_text="The account's L1 category key, or unknown.")
    flow = models.ForeignKey("flywheel_app.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    proposal = models.ForeignKey(
        "flywheel_app.FlowProposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal_ticket = models.ForeignKey(
        "psa.InternalTicket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    psa_ticket_ref = models.CharField(max_length=64, blank=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_contact = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True, help_text="An ad-hoc walk's notes (autosaved).")
    # An AI-built walk: while one request builds the next node, others wait for it (no second AI call).
    building_until = models.DateTimeField(null=True, blank=True)
    # Why the AI could build no next node ("" while it can): the page offers the ways on.
    build_problem = models.CharField(max_length=300, blank=True)
    # The AI was busy (issue 17): when the walk page asks for the node again by itself.
    build_retry_at = models.DateTimeField(null=True, blank=True)
    ticket_note = models.CharField(max_length=300, blank=True, help_text="What happened on the ticket.")
    helpful = models.BooleanField(null=True, blank=True)
    outcome_notes = models.TextField(blank=True)
    escalation_category = models.CharField(max_length=32, choices=EscalationCategory.choices, blank=True)
    escalation_reason = models.TextField(blank=True)
    # The intake form's one-time key: the same form sent twice starts one walk.
    intake_key = models.CharField(max_length=40, blank=True)
    # A flow or proposal walk's tree as it was when the walk started: an edit mid-walk changes nothing under the tech.
    tree = models.JSONField(null=True, blank=True)
    # The engineer session started from this escalated walk (one at most).
    session = models.ForeignKey(
        "sessions_app.AISession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_step_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_step_at", "-id"]
        indexes = [models.Index(fields=["account", "status", "-last_step_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="flow") | Q(flow__isnull=False) | ~Q(status="active"),
                                   name="flow_walk_has_its_flow"),
            models.CheckConstraint(condition=~Q(kind="proposal") | Q(proposal__isnull=False) | ~Q(status="active"),
                                   name="proposal_walk_has_its_proposal"),
            models.UniqueConstraint(fields=["account", "tech", "intake_key"], condition=~Q(intake_key=""),
                                    name="one_walk_per_intake"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.problem[:80]

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def ticket_label(self) -> str:
        if self.internal_ticket_id:
            return self.internal_ticket.reference
        return f"PSA #{self.psa_ticket_ref}" if self.psa_ticket_ref else ""


class WalkStep(TenantModel):
    """One node as the server served it, and the answer recorded for it. The node's id is the
    server's; (walk, node_id) is the idempotency key of an answer: a replay records nothing twice."""

    walk = models.ForeignKey(Walk, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    node_id = models.CharField(max_length=40)
    node = models.JSONField(help_text="The node exactly as it was served (type, text, labels).")
    answer = models.CharField(
        max_length=16, blank=True, help_text="The value of the choice taken (yes / no / done / an option's index)."
    )
    answer_label = models.CharField(max_length=120, blank=True, help_text="The label the tech saw, from the node.")
    note = models.TextField(blank=True)
    served_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["walk", "order"]
        constraints = [
            models.UniqueConstraint(fields=["walk", "node_id"], name="one_step_per_served_node"),
            models.UniqueConstraint(fields=["walk", "order"], name="walk_step_order_unique"),
        ]

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


class WalkPush(TenantModel):
    """A finished walk's transcript posted to its PSA ticket (SPEC §9 "the L1 walk as a note"), as
    an internal-analysis note, then the ticket's status moved and read back. Posted after the walk
    is saved (a task), never blocking it; a failure is retried in the background and by hand."""

    class Status(models.TextChoices):
        PENDING = "pending", "Posting"
        POSTED = "posted", "Posted"
        FAILED = "failed", "Failed"

    MAX_BACKGROUND_ATTEMPTS = 3

    walk = models.OneToOneField(Walk, on_delete=models.CASCADE, related_name="push")
    body = models.TextField()
    status_name = models.CharField(
        max_length=16, help_text="The configured PSA status it moves to: resolved or escalated."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    external_id = models.CharField(max_length=64, blank=True)
    status_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(error=""), name="walk_push_failure_says_why"),
        ]

    def __str__(self) -> str:
        return f"Walk {self.walk_id} to its ticket: {self.status}"
