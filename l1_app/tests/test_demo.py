"""The offline demo AI of L1 walks (SPEC §7, §10): with no API key it classifies a problem into the
account's categories (custom ones too) and builds a safe walk one node at a time. Every branch of
every tree is walked here the way the server asks for nodes (`node_message` with the path so far):
every node passes the hard floor and NODE_SCHEMA, no step repeats on a path, and every branch ends
in resolved or escalate within MAX_DEPTH.

The responders are called through the demo provider (`resolutionflow.ai.demo.respond`): no
database, so only the tests that go through `ai_json` are marked django_db.
"""

import functools
import json
import re

import jsonschema
import pytest

from l1_app.categories import DEFAULT_CATEGORIES, UNKNOWN
from l1_app.prompts import (
    CLASSIFY_SCHEMA,
    CLASSIFY_SYSTEM,
    MAX_DEPTH,
    NODE_SCHEMA,
    NODE_SYSTEM,
    NODE_TYPES,
    classify_message,
    node_message,
    refused_message,
)
from l1_app.safety import floor_violation, node_violation
from resolutionflow.ai.client import AIRequest, ai_json
from resolutionflow.ai.demo import respond
from resolutionflow.ai.models import AIUsage

EXHAUSTED = "exhausted safe steps"
DEFAULT_KEYS = [c.key for c in DEFAULT_CATEGORIES]
CUSTOM = {"key": "scanner_jam", "label": "Scanner jams", "scope": "Clear the scanner's paper path."}
UNKNOWN_CATEGORY = {"key": UNKNOWN, "label": "Unknown", "scope": ""}
PROBLEMS = {
    "password_reset": "The user says their password is not accepted",
    "account_lockout": "The user is locked out of their account",
    "printer": "The printer on floor 2 says offline",
    "outlook_client": "Outlook is not receiving email",
    "wifi_basics": "No internet on the Wi-Fi",
    "vpn_connect": "The VPN will not connect from home",
    "teams_zoom_av": "Nobody can hear the user in Teams",
    "browser_cache": "A website will not load in Chrome",
    "peripheral_reconnect": "The wireless mouse stopped working",
    "os_restart_update": "The laptop is slow and wants to update",
}
# The branch each answer takes, and the label the tech saw for it.
CHOICES = {"question": ("yes", "no"), "instruction": ("done",)}


def category(key):
    found = next((c for c in DEFAULT_CATEGORIES if c.key == key), None)
    if found is None:
        return {"key": key, "label": key.replace("_", " ").capitalize(), "scope": ""}
    return {"key": found.key, "label": found.label, "scope": found.description}


def request_node(cat, path, *, depth=None, problem="The user has a problem", after=()):
    content = node_message(problem=problem, category=cat, path=path, depth=depth or len(path) + 1)
    messages = [{"role": "user", "content": content}, *after]
    return respond(AIRequest("l1_tree_node", NODE_SYSTEM, messages, NODE_SCHEMA))


def answered(node, choice, depth, note=""):
    """A path step as the server records it: the node it served, the choice taken, the label shown."""
    label = {"yes": node.get("yes_label"), "no": node.get("no_label")}.get(choice, "Done")
    return {"depth": depth, "type": node["type"], "text": node["text"], "choice": choice, "answer": label, "note": note}


def assert_valid(node):
    jsonschema.validate(node, NODE_SCHEMA)
    assert node["type"] in NODE_TYPES
    assert node["text"].strip()
    assert node_violation(node) is None, (node_violation(node), node)
    if node["type"] == "question":
        yes, no = node.get("yes_label", ""), node.get("no_label", "")
        assert yes.strip() and no.strip() and yes.strip().casefold() != no.strip().casefold(), node
    else:
        assert "yes_label" not in node and "no_label" not in node, node
    if node["type"] == "escalate":
        assert node.get("reason", "").strip(), node
        assert floor_violation(node["reason"]) is None, node
    else:
        assert "reason" not in node, node


def walk_every_branch(cat, prefix=(), problem="The user has a problem", served=None):
    """Every (path, final node) from `prefix` on, answering each node every way it can be answered;
    every node served on the way is added to `served`."""
    ends = []

    def go(path):
        node = request_node(cat, path, problem=problem)
        assert_valid(node)
        if served is not None:
            served.append(node)
        assert node["text"] not in [step["text"] for step in path], f"repeated a step: {node['text']}"
        if node["type"] in ("resolved", "escalate"):
            assert len(path) + 1 <= MAX_DEPTH
            ends.append((path, node))
            return
        assert len(path) + 1 < MAX_DEPTH, "a question or instruction at the last depth"
        for choice in CHOICES[node["type"]]:
            go([*path, answered(node, choice, len(path) + 1)])

    go(list(prefix))
    return ends


@functools.cache
def walked(key):
    """(every branch's (path, final node), every node served) of a default category's tree, or of the
    generic tree for the custom category; walked once, when a test first needs it, so a broken tree
    fails its own tests."""
    served = []
    if key == CUSTOM["key"]:
        return walk_every_branch(CUSTOM, problem="The scanner jams every morning", served=served), served
    return walk_every_branch(category(key), problem=PROBLEMS[key], served=served), served


def walks(key):
    return walked(key)[0]


def generic_to_the_end():
    """The generic path on which no step helps: every generic step, then the escalation."""
    return next(path for path, node in walks(CUSTOM["key"]) if node["type"] == "escalate")


# --- every branch of every tree -----------------------------------------------------------------


@pytest.mark.parametrize("key", DEFAULT_KEYS)
def test_every_branch_of_a_default_tree_is_safe_and_ends_in_resolved_or_escalate(key):
    ends = walks(key)
    kinds = {node["type"] for _, node in ends}
    assert kinds == {"resolved", "escalate"}, "a plausible tree can fix the problem and can hand it over"
    depths = [len(path) for path, _ in ends]
    assert 4 <= max(depths) <= 9, f"{key} is {max(depths)} steps deep"
    steps = [step["type"] for path, _ in ends for step in path]
    assert "question" in steps and "instruction" in steps, "a mix of questions and instructions"


def test_each_default_category_has_its_own_tree():
    openings = [request_node(category(key), [])["text"] for key in DEFAULT_KEYS]
    generic = request_node(CUSTOM, [])["text"]
    assert len({*openings, generic}) == len(DEFAULT_KEYS) + 1


def test_an_either_or_question_answers_with_its_alternatives_and_yes_no_otherwise():
    questions = {
        node["text"]: (node["yes_label"], node["no_label"])
        for key in [*DEFAULT_KEYS, CUSTOM["key"]]
        for node in walked(key)[1]
        if node["type"] == "question"
    }
    either_or = {text: labels for text, labels in questions.items() if labels != ("Yes", "No")}
    for text, labels in either_or.items():
        for label in labels:
            assert label.casefold() in text.casefold(), f"{label!r} is not an answer of {text!r}"
    assert questions["Is it one printer that fails, or every printer the user tries?"] == (
        "One printer",
        "Every printer",
    )
    assert len(either_or) >= 5
    assert len(questions) - len(either_or) >= 30, "yes/no questions say Yes and No"


def test_the_printer_walk_reaches_resolved_with_a_test_page():
    happy = [
        path
        for path, node in walks("printer")
        if node["type"] == "resolved" and path[-1]["text"] == "Print a test page: did it print?"
    ]
    assert happy and all(path[-1]["choice"] == "yes" for path in happy)
    first = walks("printer")[0][0][0]
    assert first["text"] == "Is it one printer that fails, or every printer the user tries?"
    hardware = [node for _, node in walks("printer") if node["type"] == "escalate" and "hardware" in node["reason"]]
    assert hardware, "a hardware error goes to an engineer"


@pytest.mark.parametrize("key", ["password_reset", "account_lockout"])
def test_sign_in_walks_never_reset_or_change_a_password_and_escalate_a_reset(key):
    assert node_violation({"type": "instruction", "text": "Reset the user's password."}), "the floor refuses it"
    steps = [node for path, end in walks(key) for node in [*path, end] if node["type"] != "escalate"]
    for node in steps:
        assert not re.search(r"\b(reset|change|new password|unlock)", node["text"], re.I), node["text"]
    reasons = [end["reason"] for _, end in walks(key) if end["type"] == "escalate"]
    assert any("reset" in reason or "unlock" in reason for reason in reasons)
    assert all("an engineer must" in reason for reason in reasons if reason != EXHAUSTED)


def test_the_password_walk_helps_the_user_sign_in_with_the_password_they_know():
    texts = " ".join(step["text"] for path, _ in walks("password_reset") for step in path).casefold()
    for words in ("caps lock", "keyboard", "slowly", "message"):
        assert words in texts
    assert any(end["type"] == "resolved" for _, end in walks("password_reset"))


def test_the_walk_follows_the_answers_given():
    printer = category("printer")
    first = request_node(printer, [])
    one = request_node(printer, [answered(first, "yes", 1)])
    every = request_node(printer, [answered(first, "no", 1)])
    assert one["text"] != every["text"]
    assert "display" in one["text"] and "restart the computer" in every["text"]
    # A choice missing from the step is read from the label the tech saw.
    by_label = {**answered(first, "no", 1), "choice": ""}
    assert request_node(printer, [by_label]) == every


def test_the_same_request_gives_the_same_node():
    path = [answered(request_node(category("wifi_basics"), []), "yes", 1)]
    assert request_node(category("wifi_basics"), path) == request_node(category("wifi_basics"), path)


# --- the depth limit, custom and unknown categories, paths from elsewhere -------------------------


@pytest.mark.parametrize("key", [*DEFAULT_KEYS, "scanner_jam", UNKNOWN])
def test_node_twelve_is_always_an_escalation(key):
    path = [
        {"depth": n, "type": "instruction", "text": f"Step {n} done.", "choice": "done", "answer": "Done", "note": ""}
        for n in range(1, MAX_DEPTH)
    ]
    node = request_node(category(key), path)
    assert_valid(node)
    assert node["type"] == "escalate" and node["reason"] == f"reached the {MAX_DEPTH}-step limit"
    # The depth the server asks for counts, even with a shorter path.
    assert request_node(category(key), [], depth=MAX_DEPTH)["type"] == "escalate"
    assert request_node(category(key), [], depth=MAX_DEPTH - 1)["type"] != "escalate"


def test_a_custom_or_unknown_category_walks_the_generic_safe_steps_then_escalates():
    unknown = walk_every_branch(UNKNOWN_CATEGORY, problem="Something odd happens")
    assert [node for _, node in unknown] == [node for _, node in walks(CUSTOM["key"])], "one generic tree"
    assert {node["type"] for _, node in walks(CUSTOM["key"])} == {"resolved", "escalate"}
    escalations = [(path, node) for path, node in walks(CUSTOM["key"]) if node["type"] == "escalate"]
    assert escalations and all(node["reason"] == EXHAUSTED for _, node in escalations)
    # Where the problem never goes away, the escalation comes after every generic step.
    for path, _ in escalations:
        assert [step["choice"] for step in path if step["type"] == "question"][-3:] == ["yes", "yes", "yes"]
    steps = " ".join(step["text"] for path, _ in walks(CUSTOM["key"]) for step in path).casefold()
    assert "open it again" in steps and "restart the computer" in steps


FOREIGN = {
    "depth": 1,
    "type": "question",
    "text": "Has the user turned the monitor brightness up?",
    "choice": "no",
    "answer": "No",
    "note": "",
}


@pytest.mark.parametrize("key", ["printer", "outlook_client", "scanner_jam"])
def test_a_path_the_tree_does_not_know_gets_fresh_generic_steps_then_escalates(key):
    ends = walk_every_branch(category(key), prefix=[FOREIGN])
    assert {node["type"] for _, node in ends} == {"resolved", "escalate"}
    assert all(node["reason"] == EXHAUSTED for _, node in ends if node["type"] == "escalate")
    assert all(len(path) <= 8 for path, _ in ends)


def test_a_path_that_leaves_the_tree_midway_never_repeats_a_step():
    printer = category("printer")
    first = request_node(printer, [])
    second = request_node(printer, [answered(first, "yes", 1)])
    generic_step = "Close the app that shows the problem and open it again."
    path = [
        answered(first, "yes", 1),
        answered(second, "no", 2),
        {"depth": 3, "type": "instruction", "text": generic_step, "choice": "done", "answer": "Done", "note": ""},
        {**FOREIGN, "depth": 4},
    ]
    node = request_node(printer, path)
    assert_valid(node)
    assert node["text"] not in [step["text"] for step in path]
    ends = walk_every_branch(printer, prefix=path)
    assert all(generic_step not in [s["text"] for s in p[4:]] for p, _ in ends)


def used_every_generic_step():
    """A path from elsewhere that has taken every generic step already, then one more of its own."""
    generic = [step for step in generic_to_the_end() if step["type"] == "instruction"]
    assert len(generic) >= 3
    last = {**FOREIGN, "text": "Is the screen brighter now?"}
    return [FOREIGN, *({**step, "depth": n} for n, step in enumerate(generic, 2)), {**last, "depth": len(generic) + 2}]


def test_a_path_of_steps_from_elsewhere_that_uses_every_generic_step_escalates():
    path = used_every_generic_step()
    node = request_node(category("vpn_connect"), path)
    assert node["type"] == "escalate" and node["reason"] == EXHAUSTED


def test_a_malformed_request_still_gets_a_safe_node():
    odd = node_message(problem="x", category={"key": ["printer"]}, path=7, depth="one")
    for messages in ([{"role": "user", "content": "no fence here"}], [], [{"role": "user", "content": odd}]):
        node = respond(AIRequest("l1_tree_node", NODE_SYSTEM, messages, NODE_SCHEMA))
        assert_valid(node)


# --- a node the safety floor refused ---------------------------------------------------------------


def refusal(node):
    reason = 'The node\'s text needs admin rights ("as administrator")'
    return [
        {"role": "assistant", "content": json.dumps(node)},
        {"role": "user", "content": refused_message(reason)},
    ]


@pytest.mark.parametrize("key", [*DEFAULT_KEYS, "scanner_jam"])
def test_a_refused_node_is_replaced_by_a_different_safe_node_or_an_escalation(key):
    cat = category(key)
    for path, _ in walks(key)[:3]:
        for depth in range(len(path) + 1):
            served = request_node(cat, path[:depth])
            retry = request_node(cat, path[:depth], after=refusal(served))
            assert_valid(retry)
            assert retry["text"] != served["text"]
            assert retry["text"] not in [step["text"] for step in path[:depth]]


def test_when_nothing_safe_is_left_a_refusal_ends_in_an_escalation():
    path = used_every_generic_step()
    served = request_node(category("printer"), path)
    retry = request_node(category("printer"), path, after=refusal(served))
    assert_valid(retry)
    assert retry["type"] == "escalate" and retry["text"] != served["text"]


# --- classification ----------------------------------------------------------------------------


def classify(problem, categories):
    content = classify_message(problem, categories)
    return respond(AIRequest("l1_classify", CLASSIFY_SYSTEM, [{"role": "user", "content": content}], CLASSIFY_SCHEMA))


ACCOUNT_CATEGORIES = [{"key": c.key, "label": c.label} for c in DEFAULT_CATEGORIES]


@pytest.mark.parametrize(
    ("problem", "key"),
    [
        ("the printer on floor 2 says offline", "printer"),
        ("teams camera not working", "teams_zoom_av"),
        ("Can't hear anyone in Zoom meetings", "teams_zoom_av"),
        ("I forgot my password", "password_reset"),
        ("User locked out after too many attempts", "account_lockout"),
        ("Outlook is stuck on working offline", "outlook_client"),
        ("Laptop can't find the wifi at home", "wifi_basics"),
        ("GlobalProtect won't connect from the hotel", "vpn_connect"),
        ("The website won't load in Chrome", "browser_cache"),
        ("Wireless mouse stopped working", "peripheral_reconnect"),
        ("Laptop is frozen after the Windows update", "os_restart_update"),
        ("Toner cartridge is empty", "printer"),
    ],
)
def test_a_problem_is_classified_into_its_default_category(problem, key):
    answer = classify(problem, ACCOUNT_CATEGORIES)
    jsonschema.validate(answer, CLASSIFY_SCHEMA)
    assert answer == {"category": key}


@pytest.mark.parametrize("problem", ["qwerty zxcv blorp", "", "The quarterly budget looks wrong"])
def test_nonsense_is_unknown(problem):
    assert classify(problem, ACCOUNT_CATEGORIES) == {"category": UNKNOWN}


def test_a_custom_category_classifies_from_its_own_words():
    custom = {"key": "scanner_jam", "label": "Scanner jams"}
    assert classify("the scanner jams every morning", [*ACCOUNT_CATEGORIES, custom]) == {"category": "scanner_jam"}
    assert classify("the scanner jams every morning", [custom]) == {"category": "scanner_jam"}
    assert classify("the printer on floor 2 says offline", [custom]) == {"category": UNKNOWN}, "only the given keys"


def test_an_account_without_categories_classifies_nothing():
    assert classify("the printer on floor 2 says offline", []) == {"category": UNKNOWN}


# --- through the AI door in demo mode ------------------------------------------------------------


@pytest.mark.django_db
def test_demo_mode_answers_both_actions_through_ai_json(tenant_a, settings):
    settings.AI_MODE = "demo"
    content = classify_message("teams camera not working", ACCOUNT_CATEGORIES)
    answer = ai_json(
        action="l1_classify",
        system=CLASSIFY_SYSTEM,
        messages=content,
        schema=CLASSIFY_SCHEMA,
        account=tenant_a.account,
    )
    assert answer == {"category": "teams_zoom_av"}
    content = node_message(problem="The printer says offline", category=category("printer"), path=[], depth=1)
    node = ai_json(
        action="l1_tree_node", system=NODE_SYSTEM, messages=content, schema=NODE_SCHEMA, account=tenant_a.account
    )
    assert node["type"] == "question" and (node["yes_label"], node["no_label"]) == ("One printer", "Every printer")
    usage = AIUsage.objects.filter(account=tenant_a.account).order_by("id")
    assert [(u.action, u.provider, u.outcome) for u in usage] == [
        ("l1_classify", "demo", AIUsage.Outcome.OK),
        ("l1_tree_node", "demo", AIUsage.Outcome.OK),
    ]
