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
