"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "resolutionflow.settings")

app = Celery("resolutionflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["resolutionflow.accounts", "resolutionflow.ai", "resolutionflow.psa"])
