"""A finished walk's transcript posted to its ConnectWise ticket (issue #15 §4), against the fake
over real HTTP: after the commit, as internal analysis, the status moved and read back; a failure
never blocks the walk, is retried by the beat job and by hand."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from l1_app.models import Walk, WalkPush
from l1_app.services import walk_pushes, walks
from l1_app.services.intake import walk_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected(tenant_a, connect, tasks_inline):
    return connect(tenant_a.account, resolved_status_id=104, resolved_status_name="Resolved",
                   escalated_status_id=103, escalated_status_name="Escalated to L3")  # fmt: skip


def _walk(tenant, ref="48214"):
    return walk_start(user=tenant.l1, kind=Walk.Kind.AD_HOC, problem="Printer offline", psa_ticket_ref=ref)


def test_a_resolved_walk_posts_its_transcript_after_the_commit_and_moves_the_ticket(
    connected, tenant_a, fake_connectwise, django_capture_on_commit_callbacks
):
    walk = _walk(tenant_a)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=True, notes="Power-cycled it.")
    assert fake_connectwise.requests == [], "nothing is posted before the walk is saved"
    assert WalkPush.objects.get(walk=walk).status == "pending"
    for callback in callbacks:
        callback()
    push = WalkPush.objects.get(walk=walk)
    note = fake_connectwise.notes[48214][-1]
    assert push.status == "posted" and push.external_id == str(note["id"])
    assert note["internalAnalysisFlag"] is True and note["resolutionFlag"] is False
    assert "Printer offline" in note["text"] and "Power-cycled it." in note["text"]
    assert fake_connectwise.tickets[48214]["status"]["name"] == "Resolved"
    walk.refresh_from_db()
    assert walk.ticket_note.startswith("Posted to PSA ticket #48214.") and "Resolved (read back)" in walk.ticket_note


def test_an_escalated_walk_moves_the_ticket_to_the_escalated_status(
    connected, tenant_a, fake_connectwise, django_capture_on_commit_callbacks
):
    walk = _walk(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        walks.walk_escalate(walk=walk, actor=tenant_a.l1, category="beyond_l1", reason="Needs a driver")
    assert WalkPush.objects.get(walk=walk).status == "posted"
    assert fake_connectwise.tickets[48214]["status"]["name"] == "Escalated to L3"


def test_a_failed_post_never_blocks_the_walk_and_is_retried_by_the_beat_then_by_hand(
    connected, tenant_a, fake_connectwise, client, django_capture_on_commit_callbacks
):
    fake_connectwise.keep_status = True
    walk = _walk(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=True, notes="Power-cycled it.")
    walk.refresh_from_db()
    push = WalkPush.objects.get(walk=walk)
    assert walk.status == "resolved" and push.status == "failed" and "a workflow rule may block it" in push.error
    assert "Not posted to PSA ticket #48214" in walk.ticket_note
    now = timezone.now()
    for n in range(1, 4):
        WalkPush.objects.filter(pk=push.pk).update(last_attempt_at=now - timedelta(minutes=6))
        assert walk_pushes.walk_pushes_retry_failed(now=now) == 1
    WalkPush.objects.filter(pk=push.pk).update(last_attempt_at=now - timedelta(minutes=6))
    assert walk_pushes.walk_pushes_retry_failed(now=now) == 0  # three background retries, then by hand only
    assert len(fake_connectwise.calls("POST", "service/tickets/48214/notes")) == 1, "the note is never posted twice"
    client.force_login(tenant_a.l1)
    page = client.get(reverse("l1_app:detail", args=[walk.pk])).content.decode()
    assert "Retry posting to the ticket" in page and "a workflow rule may block it" in page
    fake_connectwise.keep_status = False
    client.post(reverse("l1_app:push_retry", args=[walk.pk]))
    push.refresh_from_db()
    assert push.status == "posted" and push.attempts == 5
    assert fake_connectwise.tickets[48214]["status"]["name"] == "Resolved"


def test_a_post_whose_task_never_ran_is_picked_up_by_the_beat_and_never_posted_twice(
    connected, tenant_a, fake_connectwise, django_capture_on_commit_callbacks
):
    walk = _walk(tenant_a)
    with django_capture_on_commit_callbacks(execute=False):  # the worker never gets the message
        walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=True, notes="Power-cycled it.")
    push = WalkPush.objects.get(walk=walk)
    now = timezone.now()
    assert walk_pushes.walk_pushes_retry_failed(now=now) == 0  # just ended: its task may still run
    WalkPush.objects.filter(pk=push.pk).update(created_at=now - timedelta(minutes=6))
    assert walk_pushes.walk_pushes_retry_failed(now=now) == 1
    push.refresh_from_db()
    assert push.status == "posted" and fake_connectwise.tickets[48214]["status"]["name"] == "Resolved"
    # A task that died after its note reached the ticket: the late attempt finds the note.
    WalkPush.objects.filter(pk=push.pk).update(status="pending", external_id="", attempts=0, posted_at=None)
    assert walk_pushes.walk_pushes_retry_failed(now=now) == 1
    push.refresh_from_db()
    assert push.status == "posted" and len(fake_connectwise.calls("POST", "service/tickets/48214/notes")) == 1


def test_another_account_cannot_retry_a_walks_post(
    connected, tenant_a, tenant_b, fake_connectwise, client, django_capture_on_commit_callbacks
):
    fake_connectwise.fail_next("POST", "service/tickets/*/notes", 500)
    walk = _walk(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=True, notes="x")
    client.force_login(tenant_b.l1)
    assert client.post(reverse("l1_app:push_retry", args=[walk.pk])).status_code == 404
    assert WalkPush.objects.get(walk=walk).attempts == 1
