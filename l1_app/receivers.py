"""Signal receivers of l1_app (connected in apps.ready)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import WalkPush
from .tasks import walk_push_attempt


@receiver(post_save, sender=WalkPush, dispatch_uid="l1_app.walk_push_post")
def walk_push_post(sender, instance: WalkPush, created: bool, **kwargs) -> None:
    """A walk's post is sent to the worker once the walk's outcome is committed: the walk never waits
    on the PSA, and a rolled-back outcome posts nothing."""
    if created:
        transaction.on_commit(lambda: walk_push_attempt.delay(instance.pk))
