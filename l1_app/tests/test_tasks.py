"""The L1 beat job on a real Celery worker: stale walks become abandoned, kept, and a rerun changes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from l1_app import tasks
from l1_app.models import Walk
from l1_app.tests.factories import WalkFactory
from resolutionflow.testing.services import wait_until


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_abandons_walks_idle_for_24_hours(celery_worker_process, tenant_a, tenant_b):
    stale = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, last_step_at=timezone.now() - timedelta(hours=30))
    other = WalkFactory(account=tenant_b.account, tech=tenant_b.l1, last_step_at=timezone.now() - timedelta(days=3))
    fresh = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    done = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, status="resolved",
                       last_step_at=timezone.now() - timedelta(days=3))  # fmt: skip

    first = tasks.walks_abandon_stale.delay()
    assert wait_until(lambda: _result(celery_worker_process, first.id), description="the job to run").endswith(": 2")
    statuses = dict(Walk.objects.values_list("pk", "status"))
    assert statuses == {stale.pk: "abandoned", other.pk: "abandoned", fresh.pk: "active", done.pk: "resolved"}
    assert Walk.objects.get(pk=stale.pk).finished_at is not None
    again = tasks.walks_abandon_stale.delay()
    assert wait_until(lambda: _result(celery_worker_process, again.id), description="the rerun").endswith(": 0")


def _result(worker, task_id: str) -> str:
    return next((line for line in worker.log().splitlines() if f"[{task_id}] succeeded" in line), "")
