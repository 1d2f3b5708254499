"""A proposal comes from exactly one source — an engineer session or an AI-built L1 walk — the one
its `source` names (issue #12 §1): a database check constraint, so no code path can break it."""

import pytest
from django.db import IntegrityError, transaction

from flywheel_app.models import FlowProposal
from flywheel_app.tests.factories import simple_tree
from l1_app.models import Walk
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer)
    walk = Walk.objects.create(account=tenant_a.account, tech=tenant_a.l1, kind="ai_built", problem="Printer offline")
    return session, walk


def _proposal(account, **source):
    return FlowProposal.objects.create(account=account, type="new_flow", title="Printer offline", tree=simple_tree(),
                                       **source)  # fmt: skip


@pytest.mark.parametrize(
    ("source", "with_session", "with_walk", "allowed"),
    [
        ("session_analysis", True, False, True),
        ("ai_realtime_l1", False, True, True),
        ("session_analysis", True, True, False),
        ("ai_realtime_l1", True, True, False),
        ("session_analysis", False, False, False),
        ("ai_realtime_l1", False, False, False),
        ("session_analysis", False, True, False),
        ("ai_realtime_l1", True, False, False),
    ],
)
def test_a_proposal_has_exactly_one_source_the_one_it_names(
    tenant_a, sources, source, with_session, with_walk, allowed
):
    session, walk = sources
    fields = {"source": source, "session": session if with_session else None, "walk": walk if with_walk else None}
    if allowed:
        assert _proposal(tenant_a.account, **fields).pk
    else:
        with pytest.raises(IntegrityError), transaction.atomic():
            _proposal(tenant_a.account, **fields)
