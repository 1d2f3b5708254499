from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from resolutionflow.accounts.models import TenantModel


class AIUsage(TenantModel):
    """One row per AI call (each attempt the door makes), so cost per session and per account
    can be shown. `subject_type`/`subject_id` name what the call was for (e.g. a session)
    without making the core depend on the apps."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        INVALID_OUTPUT = "invalid_output", "Invalid output"
        TRUNCATED = "truncated", "Truncated (max_tokens)"
        REFUSED = "refused", "Refused"
        TIMEOUT = "timeout", "Timeout"
        OVERLOADED = "overloaded", "Overloaded"
        RATE_LIMITED = "rate_limited", "Rate limited"
        CONNECTION = "connection", "Connection error"
        API_ERROR = "api_error", "API error"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=48, db_index=True)
    tier = models.CharField(max_length=16)
    model = models.CharField(max_length=80)
    provider = models.CharField(max_length=16, default="anthropic")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    error = models.CharField(max_length=300, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    subject_type = models.CharField(max_length=48, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "AI usage"
        verbose_name_plural = "AI usage"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "subject_type", "subject_id"]),
            models.Index(fields=["account", "created_at"], name="aiusage_account_created"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.outcome}"


class AIThrottle(TenantModel):
    """One row per AI call that had to wait for its account's budget or the provider, or was told
    to wait (issue 17). Calls that went straight through write nothing here, so the common path
    costs no query; the AI-cost view counts these rows."""

    class Reason(models.TextChoices):
        CONCURRENCY = "concurrency", "All of the account's AI slots in use"
        RATE = "rate", "The account's calls per minute used up"
        PROVIDER = "provider", "The AI provider asked us to slow down"

    class Outcome(models.TextChoices):
        WAITED = "waited", "Waited, then ran"
        TOLD_TO_WAIT = "told_to_wait", "Told to wait"

    action = models.CharField(max_length=48)
    priority = models.CharField(max_length=16)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    waited_ms = models.PositiveIntegerField(default=0)
    retry_after_s = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "created_at"], name="aithrottle_account_created")]

    def __str__(self) -> str:
        return f"{self.action} {self.reason} {self.outcome}"
