from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True, soft_time_limit=30, time_limit=40)
def notification_email_send(notification_id: int) -> bool:
    """E-mail one in-app notification to its recipient. Idempotent: sent at most once."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.db import transaction

    from .models import Notification

    with transaction.atomic():
        n = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if n is None or not n.recipient.is_usable:
            return False
        send_mail(
            subject=f"[ResolutionFlow] {n.title}",
            message=f"{n.body}\n\n{n.url}".strip(),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[n.recipient.email],
        )
        n.emailed_at = timezone.now()
        n.save(update_fields=["emailed_at"])
    return True


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def notifications_prune(days: int = 90) -> int:
    """Housekeeping: drop read notifications older than `days`."""
    from .models import Notification

    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = Notification.objects.filter(read_at__isnull=False, created_at__lt=cutoff).delete()
    return deleted
