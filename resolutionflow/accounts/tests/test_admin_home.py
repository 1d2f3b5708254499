"""The admin home (/manage/): the review queue's waiting count and newest proposals (issue 12)."""

import pytest
from django.urls import reverse

from flywheel_app.models import FlowProposal
from flywheel_app.selectors import proposal_review_summary
from flywheel_app.tests.factories import FlowProposalFactory
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db

P = FlowProposal


def change_url(proposal) -> str:
    return reverse("admin:flywheel_app_flowproposal_change", args=[proposal.pk])


@pytest.fixture
def theirs(tenant_b):
    return FlowProposalFactory(session__owner=tenant_b.engineer, title="Globex secret printer proposal")


def test_the_admin_home_shows_the_waiting_count_and_the_newest_proposals(tenant_a, theirs, client):
    session = AISessionFactory(owner=tenant_a.engineer)
    older = FlowProposalFactory.create_batch(2, session=session)
    newer = FlowProposalFactory.create_batch(5, session=session)
    decided = FlowProposalFactory(session=session, title="Already decided proposal")
    FlowProposal.objects.filter(pk=decided.pk).update(status=P.Status.DISMISSED, reviewed_at=decided.created_at)
    client.force_login(tenant_a.admin)
    response = client.get("/manage/")
    page = response.content.decode()
    assert response.context["queue"].waiting == 7
    assert [p.pk for p in response.context["queue"].newest] == [p.pk for p in reversed(newer)]
    assert '<span class="badge">7</span>' in page
    assert "7 proposals waiting for a decision" in page
    for proposal in newer:
        assert f'href="{change_url(proposal)}"' in page
    assert change_url(older[1]) not in page  # the sixth newest waits in the queue
    assert "Already decided proposal" not in page and "Globex secret printer proposal" not in page
    assert f'href="{reverse("admin:flywheel_app_flowproposal_changelist")}?status__exact=pending"' in page


def test_the_admin_home_says_when_nothing_waits(tenant_a, theirs, client):
    client.force_login(tenant_a.owner)
    page = client.get("/manage/").content.decode()
    assert "Nothing waiting for review." in page
    summary = proposal_review_summary(account=tenant_a.account)
    assert summary.waiting == 0 and summary.newest == []
