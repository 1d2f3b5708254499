"""Flow quality on the analytics page (SPEC §8, issue 14): each flow's use and success, top and bottom,
needs attention, L1 deflection and the per-node path statistics of flow walks. Every test keeps a
second account with data of its own, which must never be counted."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flywheel_app.analytics import flow_quality
from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.tests.factories import FlowFactory
from l1_app import nodes
from l1_app.models import Walk
from l1_app.tests.factories import WalkFactory, WalkStepFactory
from sessions_app.models import AISession, Escalation
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db

YES_DONE = ["Yes", "Done"]  # q1 → i1 → r1 (resolved)
NO = ["No"]  # q1 → r2 (resolved)


def flow_walk(flow, tech, answers, *, status=Walk.Status.RESOLVED, created_at=None):
    """A walk of `flow` as walk_answer records it: each node served as a step, each answer (a
    choice's label) recorded on it, the node it leads to served next and left unanswered."""
    now = timezone.now()
    walk = WalkFactory(account=flow.account, tech=tech, kind=Walk.Kind.FLOW, flow=flow, tree=flow.tree,
                       status=status, created_at=created_at or now)  # fmt: skip
    node = nodes.from_tree(flow.tree, flow.tree["start"])
    for order, label in enumerate(answers, 1):
        choice = next(c for c in node["choices"] if c["label"] == label)
        WalkStepFactory(walk=walk, order=order, node_id=node["id"], node=node, answer=choice["value"],
                        answer_label=label, answered_at=now)  # fmt: skip
        node = nodes.from_tree(flow.tree, choice["next"])
    WalkStepFactory(walk=walk, order=len(answers) + 1, node_id=node["id"], node=node)
    return walk


def ten_walks(flow, tech):
    """5 resolved through the cable check, 3 resolved at "Power it on", 2 escalated before the cable
    check was done (they exit at the first question, the last one they answered)."""
    for _ in range(5):
        flow_walk(flow, tech, YES_DONE)
    for _ in range(3):
        flow_walk(flow, tech, NO)
    for _ in range(2):
        flow_walk(flow, tech, ["Yes"], status=Walk.Status.ESCALATED)


def other_account_data(tenant):
    """Another account's flow, walks and sessions: enough to spoil every number if it leaked."""
    flow = FlowFactory(account=tenant.account, title="Printer offline")
    for _ in range(12):
        flow_walk(flow, tenant.l1, NO, status=Walk.Status.ESCALATED)
    for _ in range(6):
        AISessionFactory(owner=tenant.engineer, matched_flow=flow, status=AISession.Status.ABANDONED)
    WalkFactory(account=tenant.account, tech=tenant.l1, status=Walk.Status.ESCALATED)  # AI-built
    return flow


def quality(tenant, days=30):
    return flow_quality.section(account_id=tenant.account.pk, days=days)


def flow_data(section, flow):
    return next(f for f in section.data["flows"] if f["id"] == flow.pk)


def path_of(section, flow):
    return next(p for p in section.data["paths"] if p["flow"]["id"] == flow.pk)


def test_per_node_statistics_count_visits_answer_shares_and_exits(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account, title="Printer offline")
    ten_walks(flow, tenant_a.l1)
    other_account_data(tenant_b)

    path = path_of(quality(tenant_a), flow)

    assert path["ready"]
    by_id = {n["id"]: n for n in path["nodes"]}
    assert [n["id"] for n in path["nodes"]][:1] == ["q1"]
    assert by_id["q1"]["visits"] == 10 and by_id["q1"]["answered"] == 10
    assert by_id["q1"]["answers"] == [
        {"label": "Yes", "count": 7, "pct": 70.0},
        {"label": "No", "count": 3, "pct": 30.0},
    ]
    assert by_id["i1"]["visits"] == 7 and by_id["i1"]["answered"] == 5 and by_id["i1"]["left_unanswered"] == 2
    assert by_id["r1"]["visits"] == 5 and by_id["r2"]["visits"] == 3
    assert by_id["r1"]["type"] == "resolved" and by_id["r1"]["left_unanswered"] == 0
    assert path["exits"] == [{"node": "Is the device powered on?", "walks": 2}]
    endings = dict(map(tuple, next(c for c in path["charts"] if c.key.endswith("-endings")).rows))
    assert endings == {"Resolved": 8, "Escalated": 2, "Abandoned": 0, "In progress": 0}
    visits = next(c for c in path["charts"] if c.key.endswith("-visits"))
    assert ["Is the device powered on?", 10] in visits.rows and "Is the device powered on?: 10" in visits.alt


def test_a_walk_that_answered_nothing_exits_before_any_answer_and_abandoned_walks_exit_too(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account)
    for _ in range(8):
        flow_walk(flow, tenant_a.l1, NO)
    flow_walk(flow, tenant_a.l1, [], status=Walk.Status.ESCALATED)
    flow_walk(flow, tenant_a.l1, ["Yes"], status=Walk.Status.ABANDONED)
    other_account_data(tenant_b)

    path = path_of(quality(tenant_a), flow)

    assert sorted((e["node"], e["walks"]) for e in path["exits"]) == [
        ("(before any answer)", 1),
        ("Is the device powered on?", 1),
    ]
    q1 = next(n for n in path["nodes"] if n["id"] == "q1")
    assert q1["visits"] == 10 and q1["answered"] == 9 and q1["left_unanswered"] == 1


def test_path_statistics_need_ten_walks_in_the_period(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account)
    for _ in range(9):
        flow_walk(flow, tenant_a.l1, NO)
    flow_walk(flow, tenant_a.l1, NO, created_at=timezone.now() - timedelta(days=40))  # before the period
    other_account_data(tenant_b)  # twelve walks of a flow of another account

    path = path_of(quality(tenant_a), flow)
    assert not path["ready"] and path["missing"] == 1 and path["nodes"] == [] and path["charts"] == []
    assert not any(c.key.startswith(f"path-{flow.pk}") for c in quality(tenant_a).charts)

    flow_walk(flow, tenant_a.l1, NO)
    analytics_invalidate(account_id=tenant_a.account.pk)

    path = path_of(quality(tenant_a), flow)
    assert path["ready"] and path["missing"] == 0
    assert next(n for n in path["nodes"] if n["id"] == "q1")["visits"] == 10
    # Over 90 days the walk of 40 days ago counts too.
    assert next(n for n in path_of(quality(tenant_a, 90), flow)["nodes"] if n["id"] == "q1")["visits"] == 11


def test_l1_deflection_is_resolved_over_resolved_or_escalated_walks_per_flow(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account, title="Printer offline")
    ten_walks(flow, tenant_a.l1)
    flow_walk(flow, tenant_a.l1, ["Yes"], status=Walk.Status.ABANDONED)  # no known outcome: apart
    flow_walk(flow, tenant_a.l1, ["Yes"], status=Walk.Status.ACTIVE)
    for status in (Walk.Status.RESOLVED, Walk.Status.ESCALATED, Walk.Status.ESCALATED, Walk.Status.ESCALATED):
        WalkFactory(account=tenant_a.account, tech=tenant_a.l1, status=status)  # AI-built
    other = other_account_data(tenant_b)

    section = quality(tenant_a)

    data = flow_data(section, flow)
    assert (data["walks"], data["walks_resolved"], data["walks_escalated"], data["walks_abandoned"]) == (12, 8, 2, 1)
    assert data["deflection_pct"] == 80.0
    assert section.data["ai_built"] == {"walks": 4, "resolved": 1, "escalated": 3, "abandoned": 0,
                                        "deflection_pct": 25.0}  # fmt: skip
    chart = section.chart("flow-deflection")
    assert chart.rows == [["Printer offline", 80.0], ["AI-built walks (no flow)", 25.0]]
    assert chart.unit == "%" and "Printer offline: 80.0%" in chart.alt
    assert flow_data(quality(tenant_b), other)["deflection_pct"] == 0.0


def sessions(flow, engineer, *, resolved=0, abandoned=0, escalated=0):
    for _ in range(resolved):
        AISessionFactory(owner=engineer, matched_flow=flow, status=AISession.Status.RESOLVED)
    for _ in range(abandoned):
        AISessionFactory(owner=engineer, matched_flow=flow, status=AISession.Status.ABANDONED)
    for _ in range(escalated):
        s = AISessionFactory(owner=engineer, matched_flow=flow, status=AISession.Status.REQUESTING_ESCALATION)
        Escalation.objects.create(account=s.account, session=s, escalated_by=engineer, reason="Needs the vendor.")


def test_top_bottom_and_needs_attention(tenant_a, tenant_b):
    now = timezone.now()
    fine = FlowFactory(account=tenant_a.account, title="Fine", last_matched_at=now)
    sessions(fine, tenant_a.engineer, resolved=5)
    poor = FlowFactory(account=tenant_a.account, title="Poor", last_matched_at=now)
    sessions(poor, tenant_a.engineer, resolved=1, abandoned=4)  # 20% of 5
    escalating = FlowFactory(account=tenant_a.account, title="Escalating", last_matched_at=now)
    for _ in range(7):
        flow_walk(escalating, tenant_a.l1, NO)
    for _ in range(3):
        flow_walk(escalating, tenant_a.l1, ["Yes"], status=Walk.Status.ESCALATED)  # 3 of 10: 30%
    few = FlowFactory(account=tenant_a.account, title="Few", last_matched_at=now)
    sessions(few, tenant_a.engineer, abandoned=4)  # 0% of 4: too few uses to judge
    two_escalations = FlowFactory(account=tenant_a.account, title="Two escalations", last_matched_at=now)
    sessions(two_escalations, tenant_a.engineer, resolved=2, escalated=2)  # 2 of 4: under three
    stale = FlowFactory(account=tenant_a.account, title="Stale", created_at=now - timedelta(days=90),
                        last_matched_at=now - timedelta(days=31))  # fmt: skip
    never = FlowFactory(account=tenant_a.account, title="Never matched", created_at=now - timedelta(days=45))
    new = FlowFactory(account=tenant_a.account, title="Brand new", created_at=now - timedelta(days=2))
    FlowFactory(account=tenant_a.account, title="Draft", published=False, created_at=now - timedelta(days=90))
    other = other_account_data(tenant_b)
    sessions(other, tenant_b.engineer, resolved=9)

    section = quality(tenant_a)

    assert [f["title"] for f in section.data["top"]] == ["Fine", "Escalating"]
    assert [f["title"] for f in section.data["bottom"]] == ["Poor"]
    assert section.chart("flow-success").rows == [["Fine", 100.0], ["Escalating", 70.0], ["Poor", 20.0]]
    attention = {f["title"]: f["attention"] for f in section.data["attention"]}
    assert set(attention) == {"Poor", "Escalating", "Stale", "Never matched"}
    assert attention["Poor"] == ["Low success: 20.0% of 5 finished uses."]
    assert attention["Escalating"] == ["Many escalations: 3 of 10 finished uses."]
    assert attention["Stale"] == ["Not matched for 31 days."]
    assert attention["Never matched"][0].startswith("Never matched in the 45 days")
    assert flow_data(section, few)["success_pct"] == 0.0 and not flow_data(section, few)["ranked"]
    assert flow_data(section, two_escalations)["escalations"] == 2
    assert flow_data(section, new)["attention"] == [] and flow_data(section, never)["published"]
    assert flow_data(section, stale)["uses"] == 0
    assert other.pk not in {f["id"] for f in section.data["flows"]}
    usage = dict((row[0], row[1:]) for row in section.chart("flow-usage").rows)
    assert usage["Fine"] == [5, 0] and usage["Escalating"] == [0, 10] and "Stale" not in usage


def test_usage_counts_the_period_and_keeps_the_flywheel_totals(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account, title="Mailbox", usage_count=40, success_count=30)
    sessions(flow, tenant_a.engineer, resolved=2, escalated=1)
    AISessionFactory(owner=tenant_a.engineer, matched_flow=flow, status=AISession.Status.ACTIVE)
    AISessionFactory(owner=tenant_a.engineer, matched_flow=flow, status=AISession.Status.RESOLVED,
                     created_at=timezone.now() - timedelta(days=10))  # fmt: skip
    flow_walk(flow, tenant_a.l1, NO)
    other_account_data(tenant_b)

    week, month = flow_data(quality(tenant_a, 7), flow), flow_data(quality(tenant_a, 30), flow)

    assert (week["sessions"], week["walks"], week["uses"], week["finished"], week["successes"]) == (4, 1, 5, 4, 3)
    assert week["success_pct"] == 75.0 and week["escalations"] == 1
    assert (month["sessions"], month["finished"], month["success_pct"]) == (5, 5, 80.0)
    assert (week["usage_total"], week["success_total"], week["success_total_pct"]) == (40, 30, 75.0)
    assert week["last_matched_at"] is not None


def test_an_account_without_flows_says_so(tenant_a, tenant_b):
    other_account_data(tenant_b)
    section = quality(tenant_a)
    assert section.empty and section.charts == [] and section.data == {}


def _large(tenant, flows=6):
    for i in range(flows):
        flow = FlowFactory(account=tenant.account, title=f"Flow {i}")
        for _ in range(4):
            flow_walk(flow, tenant.l1, YES_DONE)
        for _ in range(4):
            flow_walk(flow, tenant.l1, NO)
        for _ in range(4):
            flow_walk(flow, tenant.l1, ["Yes"], status=Walk.Status.ESCALATED)
        sessions(flow, tenant.engineer, resolved=3, abandoned=2, escalated=2)
    for _ in range(5):
        WalkFactory(account=tenant.account, tech=tenant.l1, status=Walk.Status.RESOLVED)


def test_the_section_costs_a_fixed_number_of_queries_and_is_cached(tenant_a, tenant_b):
    flow = FlowFactory(account=tenant_a.account)
    ten_walks(flow, tenant_a.l1)
    sessions(flow, tenant_a.engineer, resolved=1)
    other_account_data(tenant_b)
    with CaptureQueriesContext(connection) as small:
        quality(tenant_a)
    assert len(small) <= 5
    with CaptureQueriesContext(connection) as again:
        quality(tenant_a)
    assert len(again) == 0  # cached

    _large(tenant_a)
    analytics_invalidate(account_id=tenant_a.account.pk)
    with CaptureQueriesContext(connection) as large:
        section = quality(tenant_a)

    assert len(large) == len(small)
    assert sum(1 for p in section.data["paths"] if p["ready"]) == 7


@pytest.fixture
def chart_stub(settings):
    """The chart partial is another module's; a stub that names the chart stands in for it here."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": settings.TEMPLATES[0]["DIRS"],
            "OPTIONS": {
                "loaders": [
                    ("django.template.loaders.locmem.Loader",
                     {"flywheel_app/partials/_chart.html": '<figure data-chart="{{ chart.key }}"></figure>'}),
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ],
            },
        }
    ]  # fmt: skip


def test_the_partial_shows_tables_charts_and_how_many_walks_are_missing(tenant_a, tenant_b, chart_stub):
    ready = FlowFactory(account=tenant_a.account, title="Printer offline")
    ten_walks(ready, tenant_a.l1)
    waiting = FlowFactory(account=tenant_a.account, title="VPN will not connect")
    for _ in range(3):
        flow_walk(waiting, tenant_a.l1, NO)
    other_account_data(tenant_b)

    html = render_to_string("flywheel_app/partials/_analytics_flow_quality.html", {"section": quality(tenant_a)})

    assert 'id="flywheel_app-analytics-flow_quality"' in html
    assert 'data-chart="flow-usage"' in html and f'data-chart="path-{ready.pk}-exits"' in html
    assert '<th scope="row">Is the device powered on?</th>' in html
    assert "Yes: 70.0%" in html
    assert "7 more walks in this period before its path statistics are shown" in html
    assert 'scope="col"' in html and "<html" not in html
