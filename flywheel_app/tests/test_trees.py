import copy
import html
import json
import re

import pytest
from django.core.exceptions import ValidationError

from flywheel_app.models import Flow
from flywheel_app.tests.factories import FlowFactory, simple_tree
from flywheel_app.trees import TreeError, tree_outline, validate_tree

pytestmark = pytest.mark.django_db


def test_a_valid_tree_passes():
    validate_tree(simple_tree())


def _broken(mutate):
    tree = copy.deepcopy(simple_tree())
    mutate(tree)
    with pytest.raises(TreeError) as err:
        validate_tree(tree)
    return err.value.errors


def test_duplicate_ids_are_refused():
    errors = _broken(lambda t: t["nodes"].append({"id": "r1", "type": "resolution", "text": "dup"}))
    assert "Node id 'r1' is used more than once." in errors


def test_a_cycle_is_refused():
    def loop(t):
        t["nodes"][1]["next"] = "q1"

    errors = _broken(loop)
    assert any("cycle" in e and "i1 → q1" in e for e in errors)


def test_a_branch_that_does_not_end_is_refused():
    def dangling(t):
        t["nodes"][0]["options"][1]["next"] = "nowhere"

    errors = _broken(dangling)
    assert "Option 'No' of question 'q1' leads to missing node 'nowhere'." in errors


def test_missing_labels_and_text_are_refused():
    def blank(t):
        t["nodes"][0]["options"][0]["label"] = " "
        t["nodes"][2]["text"] = ""

    errors = _broken(blank)
    assert "Option 1 of question 'q1' has no label." in errors
    assert "Node 'r1' has no text." in errors


def test_a_question_needs_two_options_and_a_known_type():
    errors = _broken(lambda t: t["nodes"][0].update(options=[{"label": "Yes", "next": "r1"}]))
    assert "Question 'q1' needs at least two options." in errors
    errors = _broken(lambda t: t["nodes"][2].update(type="goto"))
    assert any("has type 'goto'" in e for e in errors)


def test_unreachable_nodes_and_bad_start_are_refused():
    errors = _broken(lambda t: t["nodes"].append({"id": "r9", "type": "resolution", "text": "orphan"}))
    assert "Nodes not reachable from the start: r9." in errors
    errors = _broken(lambda t: t.update(start="zz"))
    assert "The start node 'zz' does not exist." in errors


def test_saving_a_flow_with_an_invalid_tree_is_refused_with_the_reason(tenant_a):

    tree = simple_tree()
    tree["nodes"][1]["next"] = "q1"
    with pytest.raises(ValidationError) as err:
        FlowFactory(account=tenant_a.account, tree=tree)
    assert "cycle" in str(err.value.message_dict["tree"])
    assert not Flow.objects.exists()


def test_admin_refuses_an_invalid_tree_with_the_reason(tenant_a, client):

    tree = simple_tree()
    tree["nodes"][0]["options"][1]["next"] = "nowhere"
    client.force_login(tenant_a.admin)
    response = client.post(
        "/admin/flywheel_app/flow/add/",
        {
            "title": "Printer offline",
            "domain": "printing",
            "keywords": "printer offline\nprinter not printing",
            "when_to_use": "",
            "tree": json.dumps(tree),
            "published": "on",
        },
    )
    assert response.status_code == 200
    assert "leads to missing node" in response.content.decode()
    assert not Flow.objects.exists()
    tree["nodes"][0]["options"][1]["next"] = "r2"
    response = client.post(
        "/admin/flywheel_app/flow/add/",
        {
            "title": "Printer offline",
            "domain": "printing",
            "keywords": "printer offline\nprinter not printing",
            "when_to_use": "",
            "tree": json.dumps(tree),
            "published": "on",
        },
    )
    assert response.status_code == 302
    flow = Flow.objects.get()
    assert (flow.account, flow.keywords, flow.created_by) == (
        tenant_a.account,
        ["printer offline", "printer not printing"],
        tenant_a.admin,
    )
    page = client.get(f"/admin/flywheel_app/flow/{flow.pk}/change/").content.decode()
    assert "Is the device powered on?" in page and "tree-outline" in page


def test_outline_follows_branches_in_order():
    outline = tree_outline(simple_tree())
    root = outline[0]
    assert root["node"]["id"] == "q1"
    assert [(c["via"], c["node"]["id"]) for c in root["children"]] == [("Yes", "i1"), ("No", "r2")]
    assert root["children"][0]["children"][0]["node"]["id"] == "r1"


def test_the_empty_flow_form_offers_a_tree_that_is_valid_to_fill(tenant_a, client):
    """Issue #10.7: the Tree field's default was a JSON string written out twice (one escaped string),
    refused on save. It is the example tree itself, and posting it back as offered saves."""
    client.force_login(tenant_a.admin)
    page = client.get("/admin/flywheel_app/flow/add/").content.decode()
    offered = html.unescape(re.search(r'<textarea name="tree"[^>]*>(.*?)</textarea>', page, re.DOTALL).group(1))
    assert isinstance(json.loads(offered), dict), "the default is a tree, not a string"

    response = client.post(
        "/admin/flywheel_app/flow/add/",
        {"title": "Printer offline", "domain": "printing", "keywords": "printer offline", "when_to_use": "",
         "tree": offered},
    )  # fmt: skip

    assert response.status_code == 302, re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode())
    assert Flow.objects.get().tree["start"] == "q1"
