"""The review queue in the Django admin (SPEC §8, issue 12 part 3): owners and admins of one account
read and decide that account's proposals, only through the services, each decision once, each with
its audit row; nobody else sees anything of them."""

import json

import pytest

from flywheel_app.models import Flow, FlowProposal
from flywheel_app.selectors import proposal_tree_comparison
from flywheel_app.tests.factories import FlowFactory, FlowProposalFactory, enhanced_tree, simple_tree
from flywheel_app.trees import validate_tree
from resolutionflow.accounts.models import AuditLog
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db

P = FlowProposal
LIST = "/admin/flywheel_app/flowproposal/"
DECISIONS = ["approve", "publish", "dismiss", "reject"]


def change_url(proposal) -> str:
    return f"{LIST}{proposal.pk}/change/"


def decision_url(proposal, decision: str) -> str:
    return f"{LIST}{proposal.pk}/{decision}/"


def publish_data(proposal, **changes) -> dict:
    data = {
        "tree": json.dumps(proposal.tree),
        "title": proposal.title,
        "description": proposal.description,
        "keywords": "\n".join(proposal.keywords),
        "domain": proposal.domain,
    }
    if proposal.type == P.Type.ENHANCEMENT:
        data["publish_as"] = "version"
    return {**data, **changes}


def audit_rows(proposal):
    return AuditLog.objects.filter(object_type="flywheel_app.flowproposal", object_id=str(proposal.pk))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def mine(tenant_a):
    """Tenant A's queue: a new-flow proposal and an enhancement of one of its flows."""
    flow = FlowFactory(account=tenant_a.account, title="Device will not power on", tree=simple_tree())
    return (
        FlowProposalFactory(session__owner=tenant_a.engineer, title="Laptop dark after a BIOS update"),
        FlowProposalFactory(
            session__owner=tenant_a.engineer, enhancement=True, target_flow=flow, title="Check the power LED first"
        ),
    )


@pytest.fixture
def theirs(tenant_b):
    return FlowProposalFactory(
        session__owner=tenant_b.engineer, title="Globex secret printer proposal", keywords=["globex-only"]
    )


# --- who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["", "?status__exact=pending", "?type__exact=new_flow", "?domain__exact=hardware", "?validated_by_outcome__exact=1",
     "?source__exact=session_analysis", "?q=printer", "?q=globex-only"],
)  # fmt: skip
def test_the_queue_lists_only_the_admins_own_account(tenant_a, mine, theirs, client, query):
    client.force_login(tenant_a.admin)
    response = client.get(LIST + query)
    assert response.status_code == 200
    assert all(p.account_id == tenant_a.account.pk for p in response.context["cl"].result_list)
    assert "Globex secret printer proposal" not in response.content.decode()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_see_their_queue_with_its_columns(tenant_a, mine, client, role):
    new_flow, _ = mine
    more = AISessionFactory.create_batch(4, owner=tenant_a.engineer)
    new_flow.evidence_session_ids = [new_flow.session_id, *(s.pk for s in more)]
    new_flow.evidence_count = 5
    new_flow.save()
    client.force_login(getattr(tenant_a, role))
    response = client.get(LIST)
    page = response.content.decode()
    assert {p.pk for p in response.context["cl"].result_list} == {p.pk for p in mine}
    for header in ("Title", "Type", "Source", "Status", "Domain", "Evidence", "Validated by outcome", "Age"):
        assert f">{header}</a>" in page or f">{header}</span>" in page, header
    assert "Enhancement" in page and "Session analysis" in page and "Hardware" in page
    assert "5 sessions" in page
    for session_id in new_flow.evidence_session_ids[:3]:
        assert f'href="/sessions/{session_id}/"' in page
    assert f'href="/sessions/{new_flow.evidence_session_ids[3]}/"' not in page  # the list links the first three
    assert "and 2 more" in page
    assert "Dismiss selected proposals" in page
    assert f"{LIST}add/" not in page  # proposals come from the flywheel, never typed in


def test_the_filters_and_search_find_what_they_say(tenant_a, mine, client):
    new_flow, enhancement = mine
    client.force_login(tenant_a.admin)

    def found(query):
        return {p.pk for p in client.get(LIST + query).context["cl"].result_list}

    assert found("?type__exact=enhancement") == {enhancement.pk}
    assert found("?type__exact=new_flow") == {new_flow.pk}
    assert found("?q=BIOS") == {new_flow.pk}  # title
    assert found("?q=dark+screen") == {new_flow.pk, enhancement.pk}  # keywords
    assert found("?q=stays+dark") == {new_flow.pk, enhancement.pk}  # description
    P.objects.filter(pk=new_flow.pk).update(validated_by_outcome=False)
    assert found("?validated_by_outcome__exact=0") == {new_flow.pk}


def test_another_accounts_proposal_is_not_found_on_any_url(tenant_a, theirs, client):
    client.force_login(tenant_a.admin)
    assert client.get(change_url(theirs)).status_code == 404
    assert client.get(decision_url(theirs, "publish")).status_code == 404
    assert client.post(decision_url(theirs, "publish"), publish_data(theirs)).status_code == 404
    for decision in ("approve", "dismiss"):
        assert client.post(decision_url(theirs, decision)).status_code == 404
    assert client.post(decision_url(theirs, "reject"), {"reason": "Not ours"}).status_code == 404
    assert client.get(f"{LIST}{theirs.pk + 1000}/change/").status_code == 404  # the same as a missing one
    theirs.refresh_from_db()
    assert theirs.status == P.Status.PENDING and not audit_rows(theirs).filter(actor=tenant_a.admin).exists()


def test_the_bulk_dismiss_never_reaches_another_account(tenant_a, mine, theirs, client):
    client.force_login(tenant_a.admin)
    client.post(LIST, {"action": "dismiss_selected", "_selected_action": [theirs.pk, mine[0].pk]})
    theirs.refresh_from_db()
    assert theirs.status == P.Status.PENDING
    assert P.objects.get(pk=mine[0].pk).status == P.Status.DISMISSED


@pytest.mark.parametrize("role", ["engineer", "coverage_engineer", "l1"])
def test_engineers_and_l1_techs_have_no_access(tenant_a, mine, client, role):
    client.force_login(getattr(tenant_a, role))
    proposal = mine[0]
    for response in (
        client.get(LIST),
        client.get(change_url(proposal)),
        client.get(decision_url(proposal, "publish")),
        client.post(decision_url(proposal, "publish"), publish_data(proposal)),
        client.post(decision_url(proposal, "approve")),
        client.post(decision_url(proposal, "dismiss")),
        client.post(decision_url(proposal, "reject"), {"reason": "no"}),
        client.post(LIST, {"action": "dismiss_selected", "_selected_action": [proposal.pk]}),
    ):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    proposal.refresh_from_db()
    assert proposal.status == P.Status.PENDING and not audit_rows(proposal).exclude(action="proposal.create").exists()


def test_a_proposal_is_read_only_outside_its_decisions(tenant_a, mine, client):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    assert client.get(f"{LIST}add/").status_code == 403
    response = client.post(change_url(proposal), {"title": "Renamed in place", "status": "published"})
    assert response.status_code == 403
    assert client.post(f"{LIST}{proposal.pk}/delete/", {"post": "yes"}).status_code == 403
    proposal.refresh_from_db()
    assert proposal.title == "Laptop dark after a BIOS update" and proposal.status == P.Status.PENDING


# --- the detail ----------------------------------------------------------------------------------


def test_an_enhancement_is_shown_beside_its_flow_with_the_changes_marked(tenant_a, mine, client):
    _, enhancement = mine
    client.force_login(tenant_a.admin)
    response = client.get(change_url(enhancement))
    page = response.content.decode()
    comparison = response.context["comparison"]
    assert (comparison.added, comparison.changed, comparison.removed, comparison.unexplored) == (3, 2, 1, 1)
    assert comparison.marks == {"q2": "added", "r3": "added", "r4": "added", "i1": "changed", "q1": "changed",
                                "r2": "removed"}  # fmt: skip
    assert 'aria-label="Proposed tree"' in page and 'aria-label="Current tree"' in page
    assert "Today: " in page and "Device will not power on" in page
    assert "Does the power LED light up?" in page and "Power it on." in page  # both trees, in full
    assert "tree-line-added" in page and "tree-line-removed" in page and "tree-line-changed" in page
    assert "changed: text" in page and "was: Check the cable." in page
    assert "changed: options" in page  # q1's "No" now leads to the new question
    assert "unexplored: needs review" in page
    assert "What changes" in page and "checks the power LED first" in page
    assert f'href="/sessions/{enhancement.session_id}/"' in page
    # An enhancement is edited and published, never approved as it is.
    assert f'action="{decision_url(enhancement, "approve")}"' not in page
    assert f'href="{decision_url(enhancement, "publish")}"' in page
    assert f'action="{decision_url(enhancement, "dismiss")}"' in page
    assert f'action="{decision_url(enhancement, "reject")}"' in page


def test_a_new_flow_proposal_shows_its_tree_alone_and_offers_every_decision(tenant_a, mine, client):
    new_flow, _ = mine
    client.force_login(tenant_a.admin)
    response = client.get(change_url(new_flow))
    page = response.content.decode()
    assert response.context["comparison"].current is None
    assert 'aria-label="Current tree"' not in page and "tree-line-added" not in page
    assert "Is the device powered on?" in page
    for decision in ("approve", "dismiss", "reject"):
        assert f'action="{decision_url(new_flow, decision)}"' in page
    assert f'href="{decision_url(new_flow, "publish")}"' in page


def test_the_comparison_is_by_node_id_text_type_options_and_next():
    before = simple_tree()
    after = json.loads(json.dumps(before))
    after["nodes"][0]["options"][0]["label"] = "Yes, it is"  # q1: options
    after["nodes"][1]["next"] = "r2"  # i1: next
    after["nodes"][2]["text"] = "  Restart   the device. "  # r1: only whitespace, the same text
    after["nodes"][3]["type"] = "instruction"  # r2: type (and next)
    after["nodes"][3]["next"] = "r1"
    flow = Flow(tree=before, title="Old")
    proposal = P(type=P.Type.ENHANCEMENT, tree=after, target_flow=flow)
    comparison = proposal_tree_comparison(proposal=proposal)
    assert comparison.marks == {"q1": "changed", "i1": "changed", "r2": "changed"}
    changed = {}

    def collect(items):
        for item in items:
            changed[item["node"]["id"]] = item["changed"]
            collect(item["children"])

    collect(comparison.proposed)
    assert changed == {"q1": ["options"], "i1": ["next"], "r2": ["type", "next"], "r1": []}


def test_a_decided_proposal_shows_its_decision_and_offers_no_buttons(tenant_a, mine, client):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    client.post(decision_url(proposal, "reject"), {"reason": "We already cover this in the BIOS flow."})
    assert client.get(decision_url(proposal, "publish"))["Location"] == change_url(proposal)
    page = client.get(change_url(proposal)).content.decode()
    assert "Rejected</strong> by " + tenant_a.admin.get_full_name() in page
    assert "Reason: We already cover this in the BIOS flow." in page
    for decision in DECISIONS:
        assert decision_url(proposal, decision) not in page


# --- the decisions -------------------------------------------------------------------------------


def test_approve_creates_a_valid_unpublished_flow_and_lands_on_it(tenant_a, mine, client):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    response = client.post(decision_url(proposal, "approve"))
    proposal.refresh_from_db()
    flow = proposal.flow
    assert proposal.status == P.Status.APPROVED and proposal.reviewer == tenant_a.admin
    assert response.status_code == 302 and response["Location"] == f"/admin/flywheel_app/flow/{flow.pk}/change/"
    assert flow.account == tenant_a.account and not flow.published
    assert flow.title == proposal.title and flow.tree == proposal.tree
    validate_tree(flow.tree)
    assert audit_rows(proposal).filter(action="proposal.approved", actor=tenant_a.admin).count() == 1


def test_approve_is_refused_for_an_enhancement(tenant_a, mine, client):
    _, enhancement = mine
    flows_before = Flow.objects.count()
    client.force_login(tenant_a.admin)
    response = client.post(decision_url(enhancement, "approve"), follow=True)
    assert response.status_code == 200
    assert "An enhancement changes an existing flow: edit it and publish it instead." in messages_of(response)
    enhancement.refresh_from_db()
    assert enhancement.status == P.Status.PENDING and Flow.objects.count() == flows_before
    assert not audit_rows(enhancement).exclude(action="proposal.create").exists()


def test_the_publish_form_is_prefilled_from_the_proposal(tenant_a, mine, client):
    _, enhancement = mine
    client.force_login(tenant_a.admin)
    response = client.get(decision_url(enhancement, "publish"))
    form = response.context["form"]
    assert json.loads(form["tree"].value()) == enhancement.tree
    # Indented, "start" first and each node's keys in reading order (jsonb keeps its own order).
    assert '{\n  "start": "q1",\n  "nodes": [\n    {\n      "id": "q1",\n      "type": "question",' in (
        response.content.decode().replace("&quot;", '"')
    )
    assert form.initial["keywords"] == "device will not start\ndark screen"
    assert form.initial["publish_as"] == "version"
    page = response.content.decode()
    assert "The new version of “Device will not power on”" in page and "A new flow" in page
    assert "1 unexplored" in page
    new_flow_form = client.get(decision_url(mine[0], "publish")).context["form"]
    assert "publish_as" not in new_flow_form.fields


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ("{not json", "This is not valid JSON"),
        (json.dumps({"start": "q1", "nodes": [{"id": "q1", "type": "instruction", "text": "Go", "next": "q9"}]}),
         "Instruction &#x27;q1&#x27; leads to missing node &#x27;q9&#x27;."),
    ],
)  # fmt: skip
def test_publish_validates_the_tree_and_saves_nothing_when_it_is_bad(tenant_a, mine, client, tree, message):
    proposal = mine[0]
    flows_before = Flow.objects.count()
    client.force_login(tenant_a.admin)
    response = client.post(decision_url(proposal, "publish"), publish_data(proposal, tree=tree))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "The tree is not valid yet: nothing was published." in page
    assert '<div class="tree-errors" role="alert">' in page
    proposal.refresh_from_db()
    assert proposal.status == P.Status.PENDING and proposal.reviewed_at is None
    assert Flow.objects.count() == flows_before
    assert not audit_rows(proposal).exclude(action="proposal.create").exists()


def test_publish_a_new_flow_as_edited(tenant_a, mine, client):
    proposal = mine[0]
    tree = simple_tree(question="Does the screen stay dark?", fix="Roll back the BIOS.")
    client.force_login(tenant_a.admin)
    response = client.post(
        decision_url(proposal, "publish"),
        publish_data(proposal, tree=json.dumps(tree), title="Laptop stays dark after a BIOS update",
                     keywords="bios update\n\nblack screen \n", domain="endpoint"),
    )  # fmt: skip
    proposal.refresh_from_db()
    flow = proposal.flow
    assert response.status_code == 302 and response["Location"] == f"/admin/flywheel_app/flow/{flow.pk}/change/"
    assert proposal.status == P.Status.PUBLISHED and proposal.reviewer == tenant_a.admin
    assert flow.published and flow.tree == tree and flow.title == "Laptop stays dark after a BIOS update"
    assert flow.keywords == ["bios update", "black screen"] and flow.domain == "endpoint"
    assert audit_rows(proposal).filter(action="proposal.published", actor=tenant_a.admin).count() == 1
    landed = client.get(response["Location"])
    assert "Published “Laptop stays dark after a BIOS update” as a new flow." in messages_of(landed)


def test_publish_an_enhancement_as_the_new_version_of_its_flow(tenant_a, mine, client):
    _, enhancement = mine
    target = enhancement.target_flow
    flows_before = Flow.objects.count()
    client.force_login(tenant_a.admin)
    response = client.post(decision_url(enhancement, "publish"), publish_data(enhancement))
    target.refresh_from_db()
    enhancement.refresh_from_db()
    assert response["Location"] == f"/admin/flywheel_app/flow/{target.pk}/change/"
    assert Flow.objects.count() == flows_before
    assert enhancement.flow == target and enhancement.status == P.Status.PUBLISHED
    assert target.tree == enhanced_tree() and target.published and target.title == "Device will not power on"
    assert audit_rows(enhancement).filter(action="proposal.published").count() == 1


def test_publish_an_enhancement_as_a_new_flow_leaves_its_flow_alone(tenant_a, mine, client):
    _, enhancement = mine
    target = enhancement.target_flow
    client.force_login(tenant_a.admin)
    client.post(decision_url(enhancement, "publish"), publish_data(enhancement, publish_as="new"))
    target.refresh_from_db()
    enhancement.refresh_from_db()
    assert target.tree == simple_tree()
    assert enhancement.flow != target and enhancement.flow.title == "Check the power LED first"
    assert enhancement.flow.published and enhancement.flow.tree == enhanced_tree()


def test_dismiss_and_reject_write_their_audit_rows(tenant_a, mine, client):
    new_flow, enhancement = mine
    client.force_login(tenant_a.owner)
    response = client.post(decision_url(new_flow, "dismiss"))
    assert response["Location"] == f"{LIST}?status__exact=pending"
    client.post(decision_url(enhancement, "reject"), {"reason": "The LED check is not reliable on these models."})
    new_flow.refresh_from_db()
    enhancement.refresh_from_db()
    assert new_flow.status == P.Status.DISMISSED and enhancement.status == P.Status.REJECTED
    assert enhancement.reason == "The LED check is not reliable on these models."
    assert audit_rows(new_flow).filter(action="proposal.dismissed", actor=tenant_a.owner).count() == 1
    assert audit_rows(enhancement).filter(action="proposal.rejected", actor=tenant_a.owner).count() == 1


def test_reject_needs_a_reason(tenant_a, mine, client):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    response = client.post(decision_url(proposal, "reject"), {"reason": "   "}, follow=True)
    assert "Say why it is rejected: the reason is kept with the proposal." in messages_of(response)
    proposal.refresh_from_db()
    assert proposal.status == P.Status.PENDING


@pytest.mark.parametrize("second", DECISIONS)
def test_a_second_decision_is_refused_with_the_reason(tenant_a, mine, client, second):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    client.post(decision_url(proposal, "dismiss"))
    client.force_login(tenant_a.owner)
    data = {"publish": publish_data(proposal), "reject": {"reason": "Late"}}.get(second, {})
    response = client.post(decision_url(proposal, second), data, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    who = tenant_a.admin.get_full_name()
    assert f"This proposal was already dismissed by {who}; it cannot be decided again." in messages_of(response)
    assert f"Dismissed</strong> by {who}" in page  # back on the proposal, which says what happened
    proposal.refresh_from_db()
    assert proposal.status == P.Status.DISMISSED and proposal.reviewer == tenant_a.admin
    assert audit_rows(proposal).exclude(action="proposal.create").count() == 1


def test_bulk_dismiss_dismisses_the_pending_ones_and_leaves_the_decided(tenant_a, mine, client):
    new_flow, enhancement = mine
    decided = FlowProposalFactory(session=new_flow.session)
    client.force_login(tenant_a.admin)
    client.post(decision_url(decided, "reject"), {"reason": "Duplicate"})
    response = client.post(
        LIST, {"action": "dismiss_selected", "_selected_action": [new_flow.pk, enhancement.pk, decided.pk]}, follow=True
    )
    assert "Dismissed 2 proposals. 1 already decided: left as it was." in messages_of(response)
    statuses = dict(P.objects.filter(account=tenant_a.account).values_list("pk", "status"))
    assert statuses == {new_flow.pk: "dismissed", enhancement.pk: "dismissed", decided.pk: "rejected"}
    assert AuditLog.objects.filter(action="proposal.dismissed", actor=tenant_a.admin).count() == 2


# --- page cost -----------------------------------------------------------------------------------


# Queries per page, whatever the queue's length (the login session comes from the cache): the user;
# the list's count, its full count and one page of rows, and how many sessions wait for analysis
# (the "Analyse now" button); the detail's one proposal with its flows and reviewer joined.
LIMITS = {"list": 5, "filtered list": 5, "detail": 2}


@pytest.mark.parametrize("page", ["list", "filtered list", "detail"])
def test_page_cost_does_not_grow_with_the_queue(tenant_a, mine, client, django_assert_max_num_queries, page):
    _, enhancement = mine
    url = {"list": LIST, "filtered list": f"{LIST}?status__exact=pending&q=power", "detail": change_url(enhancement)}[
        page
    ]
    client.force_login(tenant_a.admin)
    client.get(url)  # warm up (content types, the session)
    FlowProposalFactory.create_batch(3, session=enhancement.session)
    with django_assert_max_num_queries(LIMITS[page]) as five:
        assert client.get(url).status_code == 200
    FlowProposalFactory.create_batch(195, session=enhancement.session, enhancement=True,
                                     target_flow=enhancement.target_flow)  # fmt: skip
    with django_assert_max_num_queries(LIMITS[page]) as two_hundred:
        assert client.get(url).status_code == 200
    assert len(two_hundred.captured_queries) == len(five.captured_queries)


def test_the_audit_trail_link_lists_the_proposals_decisions(tenant_a, mine, client):
    proposal = mine[0]
    client.force_login(tenant_a.admin)
    client.post(decision_url(proposal, "dismiss"))
    link = client.get(change_url(proposal)).context["audit_url"]
    rows = client.get(link).context["cl"].result_list
    assert [row.action for row in rows] == ["proposal.dismissed"]


def test_an_enhancement_whose_flow_is_gone_is_published_as_a_new_flow(tenant_a, mine, client):
    _, enhancement = mine
    enhancement.target_flow.delete()
    client.force_login(tenant_a.admin)
    page = client.get(change_url(enhancement)).content.decode()
    assert "The flow this enhancement would change no longer exists: publish it as a new flow." in page
    assert "publish_as" not in client.get(decision_url(enhancement, "publish")).context["form"].fields
    client.post(decision_url(enhancement, "publish"), publish_data(enhancement, publish_as=""))
    enhancement.refresh_from_db()
    assert enhancement.status == P.Status.PUBLISHED and enhancement.flow.title == "Check the power LED first"
