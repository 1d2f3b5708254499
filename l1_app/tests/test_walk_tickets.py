"""What the ticket learns from a walk, and what the dashboard costs."""

import pytest
from django.urls import reverse

from l1_app.models import Walk
from l1_app.services import walks
from l1_app.services.intake import walk_start
from l1_app.tests.factories import WalkFactory
from resolutionflow.psa.models import InternalTicket

pytestmark = pytest.mark.django_db


def test_a_walk_on_a_psa_ticket_with_no_psa_connected_is_kept_here_and_says_so(
    tenant_a, django_capture_on_commit_callbacks, tasks_inline
):
    walk = walk_start(user=tenant_a.l1, kind=Walk.Kind.AD_HOC, problem="Mouse dead", psa_ticket_ref="48213")
    assert walk.internal_ticket is None and walk.psa_ticket_ref == "48213"
    with django_capture_on_commit_callbacks(execute=True):
        walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=False, notes="New batteries.")
    walk.refresh_from_db()
    assert walk.status == "resolved"  # the PSA never blocks the resolve
    assert walk.ticket_note == (
        "Not posted to PSA ticket #48213: PSA not connected: this account has no PSA, so the ticket cannot be "
        "reached. The walk is kept here."
    )
    assert not InternalTicket.objects.exists()


def test_a_new_internal_ticket_is_opened_for_a_walk_without_one_and_closed_with_the_notes(tenant_a):
    walk = walk_start(user=tenant_a.l1, kind=Walk.Kind.AD_HOC, problem="Mouse dead\nsince this morning",
                      new_internal_ticket=True)  # fmt: skip
    ticket = walk.internal_ticket
    assert ticket.title == "Mouse dead" and ticket.status == "open" and ticket.account == tenant_a.account
    walks.walk_resolve(walk=walk, actor=tenant_a.l1, helpful=False, notes="New batteries.")
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolution_notes == "New batteries."


def test_another_accounts_internal_ticket_cannot_be_walked(login, tenant_a, tenant_b):
    foreign = InternalTicket.objects.create(account=tenant_b.account, number=7, title="Theirs", created_by=tenant_b.l1)
    response = login(tenant_a.l1).post(
        reverse("l1_app:start"),
        {"problem": "Mouse dead", "ticket_kind": "internal", "internal_ticket": foreign.pk, "how": "ad_hoc"},
    )
    assert response.status_code == 400 and not Walk.objects.exists()
    foreign.refresh_from_db()
    assert foreign.status == "open"


def test_the_dashboard_costs_a_fixed_number_of_queries(login, tenant_a, django_assert_max_num_queries):
    client = login(tenant_a.l1)
    client.get(reverse("l1_app:home"))  # categories made once
    for n in range(3):
        WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem=f"Walk {n}")
    with django_assert_max_num_queries(12):
        client.get(reverse("l1_app:home"))
    for n in range(3, 15):
        WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem=f"Walk {n}", status="resolved")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("l1_app:home")).status_code == 200
