"""Engineer troubleshooting sessions (SPEC §2, §5): sessions, their steps, the task lane, script templates."""

import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone

from resolutionflow.accounts.models import TenantModel
from resolutionflow.taxonomy import Domain, Urgency
from sessions_app.powershell import REDACTED, parameters_from_placeholders, validate_parameter_schema

MAX_STEPS = 30
MAX_OPTIONS = 5


def private_storage() -> FileSystemStorage:
    # These files are only ever served by views that check access; no URL pattern serves MEDIA_ROOT.
    # No fixed location: the storage follows settings.MEDIA_ROOT, also when it is overridden later.
    return FileSystemStorage()


def screenshot_path(instance: "AISession", filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()[:6]
    return f"screenshots/{instance.account_id}/{uuid.uuid4().hex}{suffix}"


class PortableGinIndex(GinIndex):
    """A GIN index on PostgreSQL; a plain index elsewhere (SQLite, for `make run`), which knows
    neither GIN nor operator classes."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor == "postgresql":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        return models.Index(fields=self.fields, name=self.name).create_sql(model, schema_editor, **kwargs)


class ResolutionCode(models.TextChoices):
    """What kind of ending a resolve was (issue 16). "" is a session resolved before codes existed."""

    NOT_RECORDED = "", "Not recorded"
    FIXED = "fixed", "Fixed"
    WORKAROUND = "workaround", "Workaround"
    KNOWN_ISSUE = "known_issue", "Known issue"
    DUPLICATE = "duplicate", "Duplicate"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"
    USER_TRAINING = "user_training", "User training"


# A session that ended so teaches the flywheel no new flow: it repeats another, or nothing was wrong.
CODES_WITHOUT_FLOW = (ResolutionCode.DUPLICATE, ResolutionCode.NO_FAULT_FOUND)


class AISession(TenantModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        REQUESTING_ESCALATION = "requesting_escalation", "Awaiting pickup"
        RESOLVED = "resolved", "Resolved"
        ABANDONED = "abandoned", "Abandoned"

    class IntakeType(models.TextChoices):
        TEXT = "text", "Free text"
        LOG = "log", "Pasted log"
        PSA_TICKET = "psa_ticket", "PSA ticket"
        INTERNAL_TICKET = "internal_ticket", "Internal ticket"

    class Tier(models.TextChoices):
        GUIDED = "guided", "Guided"
        EXPLORING = "exploring", "Exploring"
        DISCOVERY = "discovery", "Discovery"

    class AnalysisStatus(models.TextChoices):
        NOT_READY = "not_ready", "Not resolved yet"
        PENDING = "pending", "Pending analysis"
        PROCESSING = "processing", "Being analysed"
        ANALYSED = "analysed", "Analysed"
        FAILED = "failed", "Failed"

    class TicketContextStatus(models.TextChoices):
        NONE = "none", "No ticket"
        FETCHED = "fetched", "Fetched"
        UNAVAILABLE = "unavailable", "Unavailable"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ai_sessions")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    intake_type = models.CharField(max_length=16, choices=IntakeType.choices, default=IntakeType.TEXT)
    intake_content = models.TextField(blank=True)
    screenshot = models.FileField(upload_to=screenshot_path, storage=private_storage, blank=True)
    screenshot_content_type = models.CharField(max_length=32, blank=True)
    problem_summary = models.CharField(max_length=120, blank=True)
    problem_domain = models.CharField(max_length=32, choices=Domain.choices, default=Domain.OTHER)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.MEDIUM)
    key_symptoms = models.JSONField(default=list, blank=True)
    # The normalised keywords of the key symptoms and the summary (flywheel_app.keywords.stored),
    # written with them by the session services: the repeated-pattern knowledge gap groups on them.
    # NULL: not computed (a row written another way); the gap then computes them when it reads.
    summary_keywords = models.TextField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    confidence_score = models.FloatField(default=0.0)
    confidence_tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.DISCOVERY)
    matched_flow = models.ForeignKey(
        "flywheel_app.Flow", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    match_score = models.FloatField(null=True, blank=True)
    psa_ticket_ref = models.CharField(max_length=40, blank=True)
    internal_ticket = models.ForeignKey(
        "psa.InternalTicket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_context = models.JSONField(default=dict, blank=True)
    ticket_context_status = models.CharField(
        max_length=16, choices=TicketContextStatus.choices, default=TicketContextStatus.NONE
    )
    ticket_context_note = models.CharField(max_length=200, blank=True)
    # The first message the AI saw, frozen so the conversation prefix stays byte-identical (prompt caching).
    context_message = models.TextField(blank=True)
    # Context learned mid-session (e.g. a ticket linked later), sent with the next answer.
    pending_context = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0"))
    step_count = models.PositiveSmallIntegerField(default=0)
    state_version = models.PositiveIntegerField(default=0)
    analysis_status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.NOT_READY, db_index=True
    )
    analysis_error = models.TextField(blank=True)
    analysis_attempts = models.PositiveSmallIntegerField(default=0)
    # When a worker claimed it (a claim older than the timeout is reclaimed), and when a failed
    # analysis may be tried again (backoff).
    analysis_started_at = models.DateTimeField(null=True, blank=True)
    analysis_retry_at = models.DateTimeField(null=True, blank=True)
    resolution_summary = models.TextField(blank=True)
    resolution_action = models.TextField(blank=True)
    resolution_code = models.CharField(max_length=16, choices=ResolutionCode.choices, blank=True, default="")
    # A duplicate names what it repeats: another session of the account, or a ticket reference.
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    duplicate_ticket = models.CharField(max_length=48, blank=True)  # "PSA #" and a 40-character reference
    # Votes on the session's AI output (facts_app.AIFeedback): while 0, a page need not look them up.
    ai_feedback_count = models.PositiveIntegerField(default=0)
    documentation = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_feedback = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)
    # Full-text document of a resolved session (summary A, key symptoms B, live facts C, resolution
    # C and what was changed D), written by `services.similar.sessions_search_index` on resolve;
    # NULL while the session is not resolved. PostgreSQL only (NULL on SQLite).
    search_vector = SearchVectorField(null=True, blank=True, editable=False)
    # "Solved before": the most similar resolved sessions of the account, found once at intake (and
    # again when a ticket is linked) and kept here so the page never recomputes them.
    similar_sessions = models.JSONField(default=list, blank=True)
    similar_dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            # fastupdate off: a resolve is a rare one-row write, and a lookup never scans a pending
            # list that only the next (auto)vacuum would merge (after a bulk load: tens of ms).
            PortableGinIndex(fields=["search_vector"], name="session_search_vector_gin", fastupdate=False),
            models.Index(fields=["account", "owner", "status"]),
            # The analytics page's periods: sessions started, and resolved, since a day of the account.
            models.Index(fields=["account", "created_at"], name="session_account_created"),
            models.Index(fields=["account", "resolved_at"], name="session_account_resolved"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0) & Q(confidence_score__lte=1), name="session_confidence_0_1"
            ),
            models.CheckConstraint(condition=Q(step_count__lte=MAX_STEPS), name="session_at_most_30_steps"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)), name="session_rating_1_5"
            ),
            models.CheckConstraint(
                condition=Q(match_score__isnull=True) | (Q(match_score__gte=0) & Q(match_score__lte=1)),
                name="session_match_score_0_1",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "paused", "requesting_escalation", "resolved", "abandoned"]),
                name="session_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(status="resolved"), name="session_rated_only_when_resolved"
            ),
            models.CheckConstraint(
                condition=Q(resolution_code__in=ResolutionCode.values), name="session_resolution_code_valid"
            ),
            models.CheckConstraint(
                condition=~Q(resolution_code="duplicate") | Q(duplicate_of__isnull=False) | ~Q(duplicate_ticket=""),
                name="session_duplicate_names_original",
            ),
        ]

    def __str__(self) -> str:
        return self.problem_summary or f"Session {self.pk}"

    @property
    def resolution_code_label(self) -> str:
        """The code as shown (on the session, the note, the list); "" while not resolved."""
        if self.status != self.Status.RESOLVED:
            return ""
        label = self.get_resolution_code_display()
        if self.resolution_code == ResolutionCode.DUPLICATE:
            original = f"session #{self.duplicate_of_id}" if self.duplicate_of_id else self.duplicate_ticket
            label = f"{label} of {original}"
        return label

    @property
    def ticket_label(self) -> str:
        if self.psa_ticket_ref:
            return f"PSA #{self.psa_ticket_ref}"
        if self.internal_ticket_id:
            return self.internal_ticket.reference
        return ""

    # Set by the selector for a viewer who may read the session but not act on it.
    read_only = False

    @property
    def is_open(self) -> bool:
        """Open for the viewer to act on: active or paused, and theirs."""
        return not self.read_only and self.status in (self.Status.ACTIVE, self.Status.PAUSED)

    @property
    def can_work(self) -> bool:
        """Active and the viewer's: steps can be answered, the AI asked."""
        return not self.read_only and self.status == self.Status.ACTIVE

    @property
    def duration(self):
        return (self.resolved_at or timezone.now()) - self.created_at

    @staticmethod
    def tier_for(confidence: float) -> str:
        if confidence >= 0.8:
            return AISession.Tier.GUIDED
        if confidence >= 0.4:
            return AISession.Tier.EXPLORING
        return AISession.Tier.DISCOVERY


class SessionStep(TenantModel):
    """One AI turn and the engineer's response to it."""

    class StepType(models.TextChoices):
        QUESTION = "question", "Question"
        ACTION = "action", "Action"
        RESOLUTION_SUGGESTION = "resolution_suggestion", "Suggested resolution"
        BRIEFING = "briefing", "Briefing"

    class ResponseKind(models.TextChoices):
        OPTION = "option", "Picked an option"
        FREE_TEXT = "free_text", "Free text"
        SKIPPED = "skipped", "Skipped"
        ACTION_RESULT = "action_result", "Action result"

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    step_type = models.CharField(max_length=24, choices=StepType.choices)
    content = models.JSONField(default=dict)
    raw_turn = models.TextField(blank=True, help_text="The AI's turn exactly as it was sent back to it on later turns.")
    confidence = models.FloatField(default=0.0)
    reasoning = models.TextField(blank=True)
    # The question node of the session's matched flow this step asks, when it asks one ("" otherwise):
    # how often a flow's question is escaped by free text or a skip (knowledge gaps, SPEC §8).
    flow_node_id = models.CharField(max_length=40, blank=True, default="")
    response_kind = models.CharField(max_length=16, choices=ResponseKind.choices, blank=True)
    response_value = models.CharField(max_length=200, blank=True)
    response_text = models.TextField(blank=True)
    action_worked = models.BooleanField(null=True, blank=True)
    # The message that carried this response to the AI, frozen so later prompts replay it byte for byte.
    answer_message = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "order"]
        # Analytics (claim to first action): a session's steps answered by one engineer, by time.
        indexes = [models.Index(fields=["session", "responded_by", "responded_at"], name="step_session_responder")]
        constraints = [
            models.UniqueConstraint(fields=["session", "order"], name="step_order_unique_per_session"),
            models.CheckConstraint(condition=Q(order__gte=1) & Q(order__lte=MAX_STEPS), name="step_order_1_30"),
            models.CheckConstraint(
                condition=Q(response_kind="") | Q(responded_at__isnull=False), name="step_response_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"Step {self.order} ({self.step_type})"

    @property
    def answered(self) -> bool:
        return bool(self.response_kind)

    @property
    def title(self) -> str:
        c = self.content
        return c.get("text") or c.get("instruction") or c.get("fix") or c.get("summary") or ""

    @property
    def response_label(self) -> str:
        if self.response_kind == self.ResponseKind.OPTION:
            for option in self.content.get("options", []):
                if option.get("value") == self.response_value:
                    return option.get("label", self.response_value)
            return self.response_value
        if self.response_kind == self.ResponseKind.SKIPPED:
            return "Skipped — can't check now"
        if self.response_kind == self.ResponseKind.ACTION_RESULT:
            verdict = "Worked" if self.action_worked else "Didn't work"
            return f"{verdict}{': ' + self.response_text if self.response_text else ''}"
        return self.response_text


class LaneItem(TenantModel):
    """An open question or diagnostic check the AI wants answered. Its public id is stable:
    proposing the same text again (after whitespace normalisation) keeps the same item."""

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        CHECK = "check", "Diagnostic check"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="lane_items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    public_id = models.CharField(max_length=12)
    text = models.TextField()
    normalized_text = models.TextField()
    why = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reported_in_step = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The answer reached the AI with this step's response."
    )
    first_step = models.PositiveSmallIntegerField()
    last_step = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "public_id"], name="lane_public_id_unique"),
            models.UniqueConstraint(fields=["session", "kind", "normalized_text"], name="lane_text_unique_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.text}"

    @staticmethod
    def normalize(text: str) -> str:
        return " ".join(text.split())


class ScriptTemplate(TenantModel):
    """A PowerShell template with {{ key }} placeholders and a parameter schema (SPEC §5)."""

    class Visibility(models.TextChoices):
        PERSONAL = "personal", "Personal"
        TEAM = "team", "Team"

    PARAM_TYPES = ("text", "number", "choice", "boolean", "password")

    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: shared with the whole account (when visibility is team).",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PERSONAL)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    category = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    body = models.TextField(help_text="PowerShell with {{ key }} placeholders.")
    parameters = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    usage_count = models.PositiveIntegerField(default=0)
    provenance = models.CharField(max_length=200, blank=True, help_text="e.g. “from CW #123 · resolved by Dana”")
    source_session = models.ForeignKey(AISession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-usage_count", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "slug"], condition=Q(deleted_at__isnull=True), name="template_slug_unique_live"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        validate_parameter_schema(self.parameters, self.body)


class SuggestedFix(TenantModel):
    """The AI's proposed fix (SPEC §4). At most one active (not superseded) fix per session, in the
    database. What the engineer decides to do with it and how it turned out are kept apart."""

    @property
    def outcome_note(self) -> str:
        """What the engineer said about a failed or partial outcome, to quote inside a sentence:
        no closing full stop, and nothing when they said nothing (the stored default)."""
        note = {"applied_failed": self.failure_reason, "applied_partial": self.partial_notes}.get(self.outcome, "")
        if note.endswith(("(no details given).", "(said when escalating).")):
            return ""
        return note.strip().rstrip(" .")

    @staticmethod
    def clean_title(text: str) -> str:
        """A title reads like a heading: one line, at most 200 characters, no closing full stop
        (it is quoted inside sentences: “…”. would double the punctuation)."""
        return " ".join((text or "").split())[:200].rstrip(" .")

    class Decision(models.TextChoices):
        NONE = "", "Undecided"
        ONE_OFF = "one_off", "Run as one-off"
        DRAFT_TEMPLATE = "draft_template", "Run now, templatize after"
        BUILD_TEMPLATE = "build_template", "Build a template first"
        DISMISSED = "dismissed", "Dismissed"

    class Outcome(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPLIED_SUCCESS = "applied_success", "Worked"
        APPLIED_FAILED = "applied_failed", "Didn't work"
        APPLIED_PARTIAL = "applied_partial", "Partly worked"
        APPLIED_PENDING = "applied_pending", "Waiting to verify"

    NUDGE_AFTER_MESSAGES = 3

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="fixes")
    step = models.ForeignKey(SessionStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    confidence = models.PositiveSmallIntegerField(default=0)
    script_template = models.ForeignKey(
        ScriptTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    script_parameters = models.JSONField(default=dict, blank=True)
    script_body = models.TextField(blank=True, help_text="A script attached from the builder (no template).")
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PROPOSED)
    failure_reason = models.TextField(blank=True)
    partial_notes = models.TextField(blank=True)
    pending_reason = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    # An outcome the AI read from what the engineer wrote; shown for one click, never recorded unconfirmed.
    ai_proposed_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    ai_proposed_note = models.TextField(blank=True)
    messages_while_verifying = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=Q(superseded_at__isnull=True), name="one_active_fix_per_session"
            ),
            models.CheckConstraint(condition=Q(confidence__lte=100), name="fix_confidence_0_100"),
            models.CheckConstraint(
                condition=~Q(outcome="applied_pending") | ~Q(pending_reason=""), name="fix_pending_needs_reason"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="applied_failed") | ~Q(failure_reason=""), name="fix_failed_needs_reason"
            ),
            models.CheckConstraint(
                condition=Q(verified_at__isnull=True) | Q(outcome__in=["applied_success", "applied_failed"]),
                name="fix_verified_only_when_decided",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.superseded_at is None

    @property
    def has_script(self) -> bool:
        return bool(self.script_template_id or self.script_body)

    @property
    def script_text(self) -> str:
        """The script the fix applies: its template's body, else the one the builder attached."""
        return self.script_template.body if self.script_template_id else self.script_body

    @property
    def script_schema(self) -> list[dict]:
        """The parameters its script asks for: the template's schema, else one per placeholder of
        the builder's script (SPEC §5: every placeholder is a parameter with a field)."""
        if self.script_template_id:
            return self.script_template.parameters
        return parameters_from_placeholders(self.script_body)

    @property
    def waits_for_parameters(self) -> bool:
        """Its script waits for its parameters to be rendered and run: the engineer chose to run it
        (one-off, or now and templatize after), or built the template first and has it."""
        D = self.Decision
        decided = self.decision in (D.ONE_OFF, D.DRAFT_TEMPLATE) or (
            self.decision == D.BUILD_TEMPLATE and self.script_template_id is not None
        )
        return decided and self.has_script and self.is_active and self.applied_at is None

    @property
    def banner_mode(self) -> str:
        """Which banner the page shows over the conversation ('' for none)."""
        if not self.is_active or self.applied_at is None:
            return ""
        if self.ai_proposed_outcome:
            return "ai_confirming"
        if self.outcome == self.Outcome.PROPOSED:
            return "nudge" if self.messages_while_verifying >= self.NUDGE_AFTER_MESSAGES else "verifying"
        if self.outcome == self.Outcome.APPLIED_PENDING:
            return "pending"
        if self.outcome == self.Outcome.APPLIED_PARTIAL:
            return "partial"
        return ""


class ScriptGeneration(TenantModel):
    """A script rendered in a session. Only the redacted render and redacted values are stored: the
    script with a password in it is shown once, to its author, and never kept."""

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="script_generations")
    fix = models.ForeignKey(SuggestedFix, null=True, blank=True, on_delete=models.SET_NULL, related_name="generations")
    template = models.ForeignKey(ScriptTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    parameters = models.JSONField(default=dict, blank=True, help_text="Values used, passwords redacted.")
    script = models.TextField(help_text="The rendered script, passwords redacted.")
    ran_at = models.DateTimeField(null=True, blank=True, help_text="Set by “I ran this”, never by generate or copy.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Script for session {self.session_id}"

    @property
    def had_secret(self) -> bool:
        """A password went into it (redacted here, shown once to its author)."""
        return REDACTED in self.parameters.values()


class TemplateDraft(TenantModel):
    """A reusable template proposed from a session's script, reviewed after Resolve."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Saved as template"
        REJECTED = "rejected", "Skipped"

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="template_drafts")
    fix = models.ForeignKey(SuggestedFix, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    body = models.TextField()
    parameters = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(ScriptTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="draft_decided_iff_not_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Escalation(TenantModel):
    """One hand-off of a session to a colleague (SPEC §2 Escalate, Pickup): who asked, why, the
    package they sent, and — once claimed — who picked it up and the briefing they started from."""

    class Intercept(models.TextChoices):
        NOT_ASKED = "", "Not asked"
        WORKED = "worked", "It worked"
        DIDNT = "didnt", "It didn't work"
        PARTLY = "partly", "It partly worked"
        NEVER_APPLIED = "never_applied", "It was never applied"

        @classmethod
        def recorded_as(cls, answer: str, note: str = "") -> tuple[str, str]:
            """What an intercept answer records on the fix: (outcome, note). The escalation
            package previewed before it is recorded assumes the same."""
            note = (note or "").strip()
            return {
                cls.WORKED: ("applied_success", note),
                cls.DIDNT: ("applied_failed", note or "It did not work (said when escalating)."),
                cls.PARTLY: ("applied_partial", note or "It partly worked (said when escalating)."),
                cls.NEVER_APPLIED: ("proposed", ""),
            }[answer]

    class AssessmentStatus(models.TextChoices):
        PENDING = "pending", "Being drafted"
        READY = "ready", "Ready"
        UNAVAILABLE = "unavailable", "Unavailable"

    class StartMode(models.TextChoices):
        CONTINUE = "continue", "Continue where it was"
        FRESH = "fresh", "Start from fresh context"

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="escalations")
    escalated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    intercept = models.CharField(max_length=16, choices=Intercept.choices, blank=True, default="")
    at_step = models.PositiveSmallIntegerField(
        default=0, help_text="The last answered step when escalated (where the conversation shows it)."
    )
    package = models.TextField(blank=True, help_text="The escalation package (markdown), as posted.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    start_mode = models.CharField(max_length=16, choices=StartMode.choices, blank=True, default="")
    fresh_context = models.TextField(blank=True)
    briefing = models.JSONField(default=dict, blank=True, help_text="What the new engineer started from.")
    assessment = models.JSONField(default=dict, blank=True)
    assessment_status = models.CharField(
        max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.PENDING
    )
    assessment_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["account", "claimed_at", "created_at"]),
            models.Index(fields=["account", "created_at"], name="escalation_account_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=Q(claimed_at__isnull=True), name="one_open_escalation_per_session"
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="escalation_reason_required"),
            models.CheckConstraint(
                condition=Q(target__isnull=True) | ~Q(target=models.F("escalated_by")), name="escalation_not_to_self"
            ),
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True, claimed_at__isnull=True)
                | (Q(claimed_by__isnull=False, claimed_at__isnull=False) & ~Q(claimed_by=models.F("escalated_by"))),
                name="escalation_claimed_by_another",
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation of session {self.session_id}"


class TicketPush(TenantModel):
    """A document posted (or to be posted) to the session's ticket (SPEC §9): the PSA ticket, the
    internal ticket, or nowhere (`local`). A failed push never blocks the resolve or escalate."""

    class Kind(models.TextChoices):
        RESOLUTION_NOTE = "resolution_note", "Resolution note"
        ESCALATION_PACKAGE = "escalation_package", "Escalation package"

    class Status(models.TextChoices):
        PENDING = "pending", "Posting"
        POSTED = "posted", "Posted"
        FAILED = "failed", "Failed"
        LOCAL = "local", "Kept here (no ticket)"

    MAX_BACKGROUND_ATTEMPTS = 3

    session = models.ForeignKey(AISession, on_delete=models.CASCADE, related_name="pushes")
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="pushes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    body = models.TextField(blank=True, help_text="The markdown posted (empty until drafted).")
    ticket_label = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    external_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The note's id on the ticket (kept from a partial post: never posted twice).",
    )
    time_entry_id = models.CharField(max_length=64, blank=True, help_text="The PSA time entry posted with it.")
    status_note = models.CharField(max_length=300, blank=True, help_text="What happened to the ticket's status.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"], condition=Q(kind="resolution_note"), name="one_resolution_note_per_session"
            ),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(error=""), name="push_failure_says_why"),
            models.CheckConstraint(
                condition=Q(posted_at__isnull=True) | Q(status__in=["posted", "local"]), name="push_posted_stamp"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for session {self.session_id}: {self.status}"
