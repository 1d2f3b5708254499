"""Background work: tasks run on a real worker, are sent on commit, and the Celery config keeps them safe."""

from types import SimpleNamespace

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import transaction

from resolutionflow.accounts import services, tasks
from resolutionflow.accounts.models import Notification
from resolutionflow.accounts.services import notification_send
from resolutionflow.accounts.tests.factories import NotificationFactory
from resolutionflow.celery import app
from resolutionflow.testing.services import wait_until

pytestmark = pytest.mark.django_db


def _emailed(*notification_ids: int) -> bool:
    return Notification.objects.filter(pk__in=notification_ids, emailed_at__isnull=False).count() == len(
        notification_ids
    )


def _mail_about(worker, title: str) -> list[str]:
    return [message for message in worker.sent_mail() if title in message]


def _task_result_line(worker, task_id: str) -> str:
    """The worker's log line for a finished task ("... [<id>] succeeded in 0.01s: <return value>")."""
    return next((line for line in worker.log().splitlines() if f"[{task_id}] succeeded" in line), "")


# --- On the real worker ----------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_emails_a_notification_exactly_once(celery_worker_process, tenant_a):
    worker = celery_worker_process
    title = "Ticket 4711 is waiting for you"
    notification = NotificationFactory(recipient=tenant_a.engineer, title=title, body="Printer on fire.")

    tasks.notification_email_send.delay(notification.pk)

    wait_until(lambda: _emailed(notification.pk), description="the worker to stamp emailed_at")
    [message] = _mail_about(worker, title)
    assert "To: engineer@acme.test" in message
    assert f"Subject: [ResolutionFlow] {title}" in message
    assert "Printer on fire." in message
    emailed_at = Notification.objects.get(pk=notification.pk).emailed_at

    # A redelivery (acks_late after a lost worker) finds the stamp and sends nothing.
    again = tasks.notification_email_send.delay(notification.pk)
    line = wait_until(lambda: _task_result_line(worker, again.id), description="the worker to run the task again")
    assert line.endswith(": False")
    assert len(_mail_about(worker, title)) == 1
    assert Notification.objects.get(pk=notification.pk).emailed_at == emailed_at


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_notification_send_reaches_the_worker_after_commit(celery_worker_process, settings, tenant_a, tenant_b):
    settings.NOTIFICATION_EMAILS = True
    title = "Flow proposal ready for review"

    with transaction.atomic():
        created = notification_send(
            account=tenant_a.account,
            recipients=[tenant_a.admin, tenant_a.l1, tenant_b.admin],
            kind="proposal",
            title=title,
        )

    assert {n.recipient for n in created} == {tenant_a.admin, tenant_a.l1}
    wait_until(lambda: _emailed(*(n.pk for n in created)), description="both notifications to be e-mailed")
    recipients = sorted(m.split("To: ", 1)[1].split("\n", 1)[0] for m in _mail_about(celery_worker_process, title))
    assert recipients == ["admin@acme.test", "l1_tech@acme.test"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_knows_every_task_beat_sends(celery_worker_process):
    registered = app.control.inspect(destination=[celery_worker_process.hostname], timeout=5).registered()
    assert registered, "the worker did not answer the inspect request"
    worker_tasks = {name.split(" ")[0] for name in registered[celery_worker_process.hostname]}
    assert "resolutionflow.accounts.tasks.notification_email_send" in worker_tasks
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} <= worker_tasks


# --- Sent on commit (no worker needed) -------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """The ids notification_email_send.delay() was called with (nothing reaches the broker)."""
    sent: list[int] = []
    monkeypatch.setattr(services, "notification_email_send", SimpleNamespace(delay=sent.append))
    return sent


def test_notification_emails_are_queued_only_when_the_transaction_commits(
    settings, tenant_a, queued, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAILS = True

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notification_send(
            account=tenant_a.account, recipients=[tenant_a.engineer, tenant_a.admin], kind="k", title="Hello"
        )
        assert queued == []  # still inside the transaction: the worker could not see the rows yet

    assert len(callbacks) == 2
    assert sorted(queued) == sorted(n.pk for n in created)


def test_nothing_is_queued_when_the_transaction_rolls_back(
    settings, tenant_a, queued, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAILS = True

    def send_then_fail():
        with transaction.atomic():
            notification_send(account=tenant_a.account, recipients=[tenant_a.engineer], kind="k", title="Rolled back")
            raise RuntimeError("the rest of the use case failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        send_then_fail()

    assert callbacks == []
    assert queued == []
    assert not Notification.objects.filter(title="Rolled back").exists()


def test_no_email_is_queued_when_notification_emails_are_off(
    settings, tenant_a, queued, django_capture_on_commit_callbacks
):
    settings.NOTIFICATION_EMAILS = False

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = notification_send(account=tenant_a.account, recipients=[tenant_a.engineer], kind="k", title="In-app")

    assert len(created) == 1
    assert callbacks == []
    assert queued == []


# --- Configuration ---------------------------------------------------------------------


def test_a_killed_worker_loses_no_task_and_no_task_runs_forever():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    for task in (tasks.notification_email_send, tasks.notifications_prune):
        assert task.acks_late is True
        assert 0 < task.soft_time_limit < task.time_limit


def test_the_beat_schedule_is_static_and_names_registered_tasks():
    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE

    assert schedule, "the beat schedule is empty"
    assert app.conf.beat_schedule == schedule
    assert app.conf.beat_scheduler == "celery.beat:PersistentScheduler"  # no database scheduler
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, f"{name}: {entry['task']} is not a registered task"
        assert isinstance(entry["schedule"], int | float | crontab), f"{name}: unexpected schedule"
