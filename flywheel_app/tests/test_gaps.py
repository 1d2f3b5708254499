"""Knowledge gaps (SPEC §8, issue 14 §1): each rule at and just under its threshold and at its high
threshold, another account's data never counted (both accounts have data in every test: one at the
threshold, the other just under it), the cache and its invalidation, "draft a flow", the step's
flow node recorded at turn time, and a fixed number of queries whatever the data size."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flywheel_app.analytics import gaps as G
from flywheel_app.analytics.base import analytics_invalidate
from flywheel_app.models import FlowProposal
from flywheel_app.tests.factories import FlowFactory
from l1_app.models import Walk
from l1_app.tests.factories import WalkFactory, WalkStepFactory
from l1_app.tests.factories import question as walk_question
from resolutionflow.ai.fake_api import Reply
from sessions_app.models import AISession, Escalation, SessionStep
from sessions_app.services import lifecycle, turns
from sessions_app.tests.factories import AISessionFactory, SessionStepFactory, question_turn

pytestmark = pytest.mark.django_db

K = SessionStep.ResponseKind
QUERIES = 13  # every rule with something to show: see test_the_cost_is_fixed_whatever_the_data_size


def gaps_of(tenant, kind: str | None = None, days: int = 30) -> list[G.Gap]:
    found = G.knowledge_gaps(account_id=tenant.account.pk, days=days)
    return [g for g in found if kind is None or g.type == kind]


def session(tenant, **kw) -> AISession:
    # One keyword each ("case"; numbers are no keywords): no repeated pattern unless a test makes one.
    kw.setdefault("problem_summary", f"Case {AISession.objects.count()}")
    kw.setdefault("key_symptoms", [])
    return AISessionFactory(owner=tenant.engineer, **kw)


def escalated(tenant, **kw) -> AISession:
    s = session(tenant, status=AISession.Status.REQUESTING_ESCALATION, **kw)
    Escalation.objects.create(account=tenant.account, session=s, escalated_by=tenant.engineer, reason="Stuck.")
    return s


# --- weak options -------------------------------------------------------------------------


def flow_visits(tenant, flow, *, escapes: int, answered: int, node: str = "q1") -> list[AISession]:
    """Sessions that matched `flow` and were asked its question `node`: `escapes` answered in free
    text or skipped (alternately), `answered` by an option."""
    made = []
    for i in range(escapes + answered):
        s = session(tenant, matched_flow=flow)
        kind = (K.FREE_TEXT if i % 2 == 0 else K.SKIPPED) if i < escapes else K.OPTION
        SessionStepFactory(
            session=s, order=1, flow_node_id=node, response_kind=kind, response_value="yes" if kind == K.OPTION else "",
            response_text="It is on but the screen is dark" if kind == K.FREE_TEXT else "",
            responded_at=timezone.now(), responded_by=tenant.engineer,
            turn=question_turn("Is the device powered on?"),
        )  # fmt: skip
        made.append(s)
    return made


def test_weak_options_at_3_escapes_and_25_percent_and_not_just_under(tenant_a, tenant_b):
    flow_a, flow_b = FlowFactory(account=tenant_a.account, domain="hardware"), FlowFactory(account=tenant_b.account)
    escaping = flow_visits(tenant_a, flow_a, escapes=3, answered=9)  # 3 of 12: 25%
    flow_visits(tenant_b, flow_b, escapes=3, answered=10)  # 3 of 13: just under 25%
    other_b = FlowFactory(account=tenant_b.account)
    flow_visits(tenant_b, other_b, escapes=2, answered=0)  # 100%, but only 2 escapes

    [gap] = gaps_of(tenant_a, G.WEAK_OPTIONS)
    assert gap.severity == G.MEDIUM and gap.domain == "hardware" and gap.key == f"weak_options:{flow_a.pk}:q1"
    assert gap.evidence.flow_id == flow_a.pk and gap.evidence.node_id == "q1"
    assert gap.evidence.node_text == "Is the device powered on?"
    assert set(gap.evidence.session_ids) == {s.pk for s in escaping[:3]}
    assert dict(gap.evidence.counts)["Visits"] == 12 and dict(gap.evidence.counts)["Escaped"] == 3
    assert gap.action.kind == G.REVIEW_QUESTION and gap.action.url == f"/admin/flywheel_app/flow/{flow_a.pk}/change/"
    assert gaps_of(tenant_b, G.WEAK_OPTIONS) == []


def test_weak_options_are_high_at_50_percent_and_walk_visits_count_as_visits(tenant_a, tenant_b):
    flow_a, flow_b = FlowFactory(account=tenant_a.account), FlowFactory(account=tenant_b.account)
    flow_visits(tenant_a, flow_a, escapes=3, answered=3)  # 3 of 6: 50%
    flow_visits(tenant_b, flow_b, escapes=3, answered=5)  # 3 of 8 (37%) ... and 5 walk visits: 3 of 13
    for _ in range(5):
        walk = WalkFactory(account=tenant_b.account, kind=Walk.Kind.FLOW, flow=flow_b)
        WalkStepFactory(walk=walk, order=1, node_id="q1", node=walk_question("q1", "Is the device powered on?"))
    # tenant_b's walks of its flow never count for tenant_a's flow, and the other way round.
    [gap] = gaps_of(tenant_a, G.WEAK_OPTIONS)
    assert gap.severity == G.HIGH
    assert gaps_of(tenant_b, G.WEAK_OPTIONS) == []


def test_a_weak_option_whose_question_left_the_flow_is_no_gap(tenant_a, tenant_b):
    flow_a = FlowFactory(account=tenant_a.account)
    flow_visits(tenant_a, flow_a, escapes=4, answered=0, node="gone")
    flow_visits(tenant_b, FlowFactory(account=tenant_b.account), escapes=4, answered=0)
    assert gaps_of(tenant_a, G.WEAK_OPTIONS) == []
    assert len(gaps_of(tenant_b, G.WEAK_OPTIONS)) == 1


# --- high escalation ----------------------------------------------------------------------


def finished(tenant, *, total: int, escalations: int, **kw) -> list[AISession]:
    made = [escalated(tenant, **kw) for _ in range(escalations)]
    return made + [session(tenant, status=AISession.Status.RESOLVED, **kw) for _ in range(total - escalations)]


def test_a_domain_escalated_at_30_percent_of_10_is_a_gap_and_not_just_under(tenant_a, tenant_b):
    made = finished(tenant_a, total=10, escalations=3, problem_domain="backup")
    finished(tenant_b, total=11, escalations=3, problem_domain="backup")  # 27%
    finished(tenant_b, total=4, escalations=4, problem_domain="security")  # 100%, but only 4
    session(tenant_a, problem_domain="backup")  # active: not finished, not counted

    [gap] = gaps_of(tenant_a, G.HIGH_ESCALATION)
    assert gap.key == "high_escalation:domain:backup" and gap.severity == G.MEDIUM and gap.domain == "backup"
    assert set(gap.evidence.session_ids) == {s.pk for s in made[:3]} and gap.evidence.walk_ids == []
    assert gap.evidence.session_links[0][1] == f"/sessions/{gap.evidence.session_ids[0]}/"
    assert gap.action.kind == G.DRAFT_FLOW and gap.action.method == "post"
    assert gaps_of(tenant_b, G.HIGH_ESCALATION) == []


def test_escalation_is_high_at_50_percent_an_escalated_then_resolved_session_still_counts(tenant_a, tenant_b):
    made = finished(tenant_a, total=10, escalations=5, problem_domain="backup")
    AISession.objects.filter(pk=made[0].pk).update(status=AISession.Status.RESOLVED)  # a colleague resolved it
    finished(tenant_b, total=10, escalations=2, problem_domain="backup")
    [gap] = gaps_of(tenant_a, G.HIGH_ESCALATION)
    assert gap.severity == G.HIGH and dict(gap.evidence.counts)["Escalated"] == 5
    assert gaps_of(tenant_b, G.HIGH_ESCALATION) == []


def test_a_flow_often_escalated_is_a_gap_with_its_review(tenant_a, tenant_b):
    flow_a, flow_b = FlowFactory(account=tenant_a.account, title="VPN drops"), FlowFactory(account=tenant_b.account)
    finished(tenant_a, total=5, escalations=2, matched_flow=flow_a, problem_domain="networking")
    finished(tenant_a, total=10, escalations=0, problem_domain="networking")  # the domain as a whole: 2 of 15
    finished(tenant_b, total=5, escalations=1, matched_flow=flow_b)

    [gap] = gaps_of(tenant_a, G.HIGH_ESCALATION)
    assert gap.key == f"high_escalation:flow:{flow_a.pk}" and gap.evidence.flow_title == "VPN drops"
    assert gap.action.kind == G.REVIEW_FLOW and gap.action.url.endswith(f"/flow/{flow_a.pk}/change/")
    assert gaps_of(tenant_b, G.HIGH_ESCALATION) == []


def test_walks_count_by_their_category_domain_and_only_escalated_walks_are_linked(tenant_a, tenant_b):
    for status in ["escalated"] * 2 + ["resolved"] * 3 + ["active"] * 3:
        WalkFactory(account=tenant_a.account, category="printer", status=status)
    for status in ["escalated"] * 1 + ["resolved"] * 4:
        WalkFactory(account=tenant_b.account, category="printer", status=status)

    [gap] = gaps_of(tenant_a, G.HIGH_ESCALATION)
    assert gap.key == "high_escalation:domain:printing" and dict(gap.evidence.counts)["Sessions and walks"] == 5
    escalated_walks = set(
        Walk.objects.filter(account=tenant_a.account, status="escalated").values_list("pk", flat=True)
    )
    assert set(gap.evidence.walk_ids) == escalated_walks
    assert gap.evidence.walk_links[0][1] == f"/l1/escalations/{gap.evidence.walk_ids[0]}/"
    # Only walks: no session to draft a flow from, so the action is the L1 escalations list.
    assert gap.action.kind == G.REVIEW_ESCALATIONS
    assert gaps_of(tenant_b, G.HIGH_ESCALATION) == []


# --- uncharted territory ------------------------------------------------------------------


def uncharted(tenant, n: int, domain: str = "networking", **kw) -> list[AISession]:
    kw = {"confidence_tier": AISession.Tier.DISCOVERY, **kw}
    return [
        session(tenant, status=AISession.Status.RESOLVED, resolved_at=timezone.now(), problem_domain=domain, **kw)
        for _ in range(n)
    ]


def test_uncharted_territory_at_3_and_not_at_2(tenant_a, tenant_b):
    made = uncharted(tenant_a, 3)
    uncharted(tenant_b, 2)
    uncharted(tenant_b, 5, confidence_tier=AISession.Tier.EXPLORING)  # not discovery
    uncharted(tenant_b, 5, matched_flow=FlowFactory(account=tenant_b.account))  # a flow matched

    [gap] = gaps_of(tenant_a, G.UNCHARTED)
    assert gap.key == "uncharted:networking" and gap.severity == G.MEDIUM
    assert set(gap.evidence.session_ids) == {s.pk for s in made}
    assert gap.action.kind == G.DRAFT_FLOW
    assert gaps_of(tenant_b, G.UNCHARTED) == []


def test_uncharted_territory_is_high_at_10_and_low_when_it_has_not_recurred_lately(tenant_a, tenant_b):
    uncharted(tenant_a, 10)
    uncharted(tenant_b, 9)
    old = uncharted(tenant_b, 3, domain="backup")
    AISession.objects.filter(pk__in=[s.pk for s in old]).update(resolved_at=timezone.now() - timedelta(days=20))

    [gap] = gaps_of(tenant_a, G.UNCHARTED)
    assert gap.severity == G.HIGH
    by_domain = {g.domain: g.severity for g in gaps_of(tenant_b, G.UNCHARTED)}
    assert by_domain == {"networking": G.MEDIUM, "backup": G.LOW}
    assert {g.domain for g in gaps_of(tenant_b, G.UNCHARTED, days=7)} == {"networking"}  # the old ones are out


# --- repeated pattern ---------------------------------------------------------------------

VPN = ["VPN disconnects after the laptop sleeps", "The VPN keeps disconnecting every hour",
       "VPN disconnected twice at the hotel", "VPN disconnects on home wifi"]  # fmt: skip


def test_a_repeated_pattern_at_3_sessions_sharing_2_keywords_and_not_just_under(tenant_a, tenant_b):
    made = [session(tenant_a, problem_summary=text) for text in VPN[:3]]
    [session(tenant_b, problem_summary=text) for text in VPN[:2]]
    session(tenant_b, problem_summary="VPN client will not install")  # shares one keyword only
    session(tenant_b, problem_summary=VPN[3], matched_flow=FlowFactory(account=tenant_b.account))  # has a flow

    [gap] = gaps_of(tenant_a, G.REPEATED)
    assert gap.key == "repeated_pattern:disconnect+vpn" and gap.severity == G.MEDIUM
    assert gap.evidence.session_ids == [s.pk for s in reversed(made)]  # newest first
    assert "vpn" in gap.title.lower() and gap.action.kind == G.DRAFT_FLOW
    assert gaps_of(tenant_b, G.REPEATED) == []


def test_a_repeated_pattern_counts_key_symptoms_and_is_high_at_10(tenant_a, tenant_b):
    for n in range(10):
        session(tenant_a, problem_summary=f"Ticket {n}", key_symptoms=["Printer offline", "Spooler stopped"])
    for n in range(9):
        session(tenant_b, problem_summary=f"Ticket {n}", key_symptoms=["Printer offline", "Spooler stopped"])
    [gap] = gaps_of(tenant_a, G.REPEATED)
    assert gap.severity == G.HIGH and len(gap.evidence.session_ids) == 10
    [gap_b] = gaps_of(tenant_b, G.REPEATED)
    assert gap_b.severity == G.MEDIUM


def test_keywords_are_normalised_and_the_grouping_is_deterministic():
    assert list(G.keywords("Outlook PROMPTS for passwords", "prompting")) == ["outlook", "prompt", "password"]
    texts = ["printer offline again", "printer offline", "offline printer jammed", "printer jammed"]
    sessions = [(n, G.keywords(text)) for n, text in enumerate(texts)]
    groups = G.group_by_shared_keywords(sessions, shared=2, minimum=3)
    assert groups == [([0, 1, 2], ["offline", "printer"], ["offline", "printer"])]
    assert G.group_by_shared_keywords(list(reversed(sessions)), shared=2, minimum=3)[0][1] == ["offline", "printer"]


# --- the cache and its invalidation ------------------------------------------------------


def test_the_list_is_cached_and_a_resolve_makes_it_fresh(
    tenant_a, tenant_b, django_assert_num_queries, django_capture_on_commit_callbacks
):
    uncharted(tenant_a, 2)
    uncharted(tenant_b, 3)
    third = session(tenant_a, problem_domain="networking", confidence_tier=AISession.Tier.DISCOVERY)
    assert gaps_of(tenant_a, G.UNCHARTED) == []
    with django_assert_num_queries(0):
        assert gaps_of(tenant_a, G.UNCHARTED) == []
    uncharted(tenant_a, 1)  # written behind the services' back: still the cached answer
    assert gaps_of(tenant_a, G.UNCHARTED) == []

    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.session_resolve(session=third, actor=tenant_a.engineer, code="fixed", summary="Reset the VPN profile")

    [gap] = gaps_of(tenant_a, G.UNCHARTED)
    assert dict(gap.evidence.counts)["Resolved in discovery, no flow"] == 4
    assert len(gaps_of(tenant_b, G.UNCHARTED)) == 1


def test_invalidation_is_per_account(tenant_a, tenant_b):
    uncharted(tenant_a, 2)
    uncharted(tenant_b, 2)
    assert gaps_of(tenant_a) == gaps_of(tenant_b) == []
    uncharted(tenant_a, 1)
    uncharted(tenant_b, 1)
    analytics_invalidate(account_id=tenant_a.account.pk)
    assert len(gaps_of(tenant_a, G.UNCHARTED)) == 1 and gaps_of(tenant_b, G.UNCHARTED) == []


# --- the section --------------------------------------------------------------------------


def test_the_section_charts_gaps_by_type_and_severity_and_renders_each_gap(tenant_a, tenant_b):
    uncharted(tenant_a, 10)
    [session(tenant_a, problem_summary=text) for text in VPN[:3]]
    uncharted(tenant_b, 2, domain="backup")

    section = G.section(account_id=tenant_a.account.pk, days=30)
    chart = section.chart("gaps_by_type")
    assert chart.kind == "stacked" and chart.columns == ["Type", "High", "Medium", "Low"]
    assert ["Uncharted territory", 1, 0, 0] in chart.rows and ["Repeated pattern", 0, 1, 0] in chart.rows
    assert "Uncharted territory: 1 high" in chart.alt and "Weak options: none" in chart.alt

    html = render_to_string(
        "flywheel_app/partials/_analytics_gaps.html", {"section": replace(section, charts=[])}
    )  # the page draws the chart (its partial is the page's)
    assert 'id="flywheel_app-gaps"' in html and "Networking: problems solved from scratch" in html
    assert 'action="/manage/gaps/draft/"' in html and 'name="gap" value="uncharted:networking"' in html
    assert 'name="days" value="30"' in html and "Backup" not in html

    empty = G.section(account_id=tenant_b.account.pk, days=30)
    assert empty.charts == [] and empty.data["gaps"] == []
    html = render_to_string("flywheel_app/partials/_analytics_gaps.html", {"section": empty})
    assert "No knowledge gaps in the last 30 days" in html and "<form" not in html


# --- draft a flow -------------------------------------------------------------------------


def test_draft_a_flow_starts_a_pending_proposal_with_every_session_as_evidence(tenant_a, tenant_b, client):
    made = uncharted(tenant_a, 3)
    uncharted(tenant_b, 3, domain="backup")
    newest = made[-1]
    AISession.objects.filter(pk=newest.pk).update(problem_summary="Laptop VPN drops after sleep on the road")
    analytics_invalidate(account_id=tenant_a.account.pk)
    client.force_login(tenant_a.owner)

    response = client.post("/manage/gaps/draft/", {"gap": "uncharted:networking", "days": 30})

    proposal = FlowProposal.objects.get(account=tenant_a.account)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/flywheel_app/flowproposal/{proposal.pk}/change/"
    assert proposal.status == "pending" and proposal.type == "new_flow" and proposal.session_id == newest.pk
    assert sorted(proposal.evidence_session_ids) == sorted(s.pk for s in made) and proposal.evidence_count == 3
    assert proposal.domain == "networking" and proposal.title.startswith("Laptop VPN drops")
    assert not FlowProposal.objects.filter(account=tenant_b.account).exists()


def test_draft_a_flow_sends_the_gap_to_the_ai_as_a_new_flow(tenant_a, tenant_b, client, fake_anthropic):
    made = [session(tenant_a, problem_summary=text, status=AISession.Status.RESOLVED) for text in VPN[:3]]
    [session(tenant_b, problem_summary=text) for text in VPN[:3]]
    flow_tree = {"start": "r", "nodes": [{"id": "r", "type": "resolution", "text": "Turn off sleep on the NIC.",
                                          "options": None, "next": None, "needs_review": False}]}  # fmt: skip
    fake_anthropic.enqueue(
        Reply.json({"decision": "new_flow", "title": "VPN disconnects after laptop sleep", "description": "VPN drops.",
                    "keywords": ["vpn disconnects"], "domain": "networking", "changes": None, "tree": flow_tree})
    )  # fmt: skip
    client.force_login(tenant_a.admin)

    response = client.post("/manage/gaps/draft/", {"gap": "repeated_pattern:disconnect+vpn", "days": 30},
                           headers={"HX-Request": "true"})  # fmt: skip

    proposal = FlowProposal.objects.get(account=tenant_a.account)
    assert response.status_code == 200 and response["HX-Redirect"].endswith(f"/flowproposal/{proposal.pk}/change/")
    assert proposal.session_id == made[-1].pk and len(proposal.evidence_session_ids) == 3
    sent = fake_anthropic.requests[-1]["messages"][0]["content"]
    text = sent if isinstance(sent, str) else "".join(b.get("text", "") for b in sent)
    assert '<data source="gap"' in text and VPN[0] in text and '"matched_flow": null' in text


@pytest.mark.parametrize("role", ["engineer", "l1"])
def test_engineers_and_l1_techs_may_not_draft_a_flow(tenant_a, tenant_b, client, role):
    uncharted(tenant_a, 3)
    uncharted(tenant_b, 3)
    client.force_login(getattr(tenant_a, role))
    response = client.post("/manage/gaps/draft/", {"gap": "uncharted:networking", "days": 30})
    assert response.status_code == 403 and not FlowProposal.objects.exists()


def test_another_accounts_gap_is_not_found(tenant_a, tenant_b, client):
    uncharted(tenant_a, 3)
    uncharted(tenant_b, 2)
    client.force_login(tenant_b.owner)
    response = client.post("/manage/gaps/draft/", {"gap": "uncharted:networking", "days": 30})
    assert response.status_code == 404 and not FlowProposal.objects.exists()


# --- the flow node, recorded at turn time -----------------------------------------------------


def test_a_turn_asking_a_flow_question_records_its_node(tenant_a, tenant_b, fake_anthropic):
    flow_a = FlowFactory(account=tenant_a.account)
    guided = AISessionFactory(owner=tenant_a.engineer, matched_flow=flow_a)
    unguided = AISessionFactory(owner=tenant_b.engineer)
    fake_anthropic.enqueue(
        Reply.json(question_turn("is the  device powered ON")),  # the flow's question, as the AI wrote it
        Reply.json(question_turn("Is the device powered on?")),
    )
    step = turns.session_take_turn(session=guided, actor=tenant_a.engineer)
    other = turns.session_take_turn(session=unguided, actor=tenant_b.engineer)  # no flow: no node
    assert step.flow_node_id == "q1" and other.flow_node_id == ""
    step.refresh_from_db()
    assert step.flow_node_id == "q1"

    fake_anthropic.enqueue(Reply.json(question_turn("Which light is blinking?")))
    SessionStep.objects.filter(pk=step.pk).update(
        response_kind=K.SKIPPED, responded_at=timezone.now(), answer_message="Skipped: can't check now."
    )
    guided.refresh_from_db()
    assert turns.session_take_turn(session=guided, actor=tenant_a.engineer).flow_node_id == ""


# --- the cost -----------------------------------------------------------------------------


def every_gap(tenant, scale: int) -> None:
    flow = FlowFactory(account=tenant.account)
    flow_visits(tenant, flow, escapes=3 * scale, answered=scale)
    finished(tenant, total=5 * scale, escalations=3 * scale, problem_domain="backup", matched_flow=flow)
    for status in ["escalated", "resolved"] * 3 * scale:
        WalkFactory(account=tenant.account, category="printer", status=status, kind=Walk.Kind.FLOW, flow=flow)
    uncharted(tenant, 3 * scale)
    [session(tenant, problem_summary=text) for text in VPN * scale]


@pytest.mark.parametrize("scale", [1, 6])
def test_the_cost_is_fixed_whatever_the_data_size(tenant_a, tenant_b, django_assert_max_num_queries, scale):
    every_gap(tenant_a, scale)
    every_gap(tenant_b, 1)
    analytics_invalidate(account_id=tenant_a.account.pk)
    with CaptureQueriesContext(connection) as queries, django_assert_max_num_queries(QUERIES):
        found = G.section(account_id=tenant_a.account.pk, days=30).data["gaps"]
    assert {g.type for g in found} == set(G.TYPES)
    assert len(queries) == QUERIES


def test_a_long_list_of_gaps_shows_the_five_most_severe_and_folds_the_rest(tenant_a, tenant_b):
    uncharted(tenant_a, 3)
    uncharted(tenant_b, 3)
    one = G.knowledge_gaps(account_id=tenant_a.account.pk, days=30)[0]
    gaps = [replace(one, key=f"{one.key}-{n}", title=f"Gap number {n}") for n in range(1, 8)]
    section = G.Section(key="gaps", title="Knowledge gaps", data={"gaps": gaps, "days": 30})
    html = render_to_string("flywheel_app/partials/_analytics_gaps.html", {"section": section})
    first, _, rest = html.partition('<details class="gap-more">')
    assert [f"Gap number {n}<" in first for n in range(1, 8)] == [True] * 5 + [False] * 2
    assert "2 more gaps" in rest and "Gap number 6<" in rest and 'start="6"' in rest and 'id="gap-7"' in rest
