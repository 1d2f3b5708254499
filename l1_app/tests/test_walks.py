"""L1 walks end to end through the pages (SPEC §7, issue 13): intake dispatch, the AI-built walk
with its floor and limits, answers keyed by (walk, node), notes, resolve and escalate. The AI is
the real SDK against the fake Messages API wherever a test counts or scripts calls."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from flywheel_app.models import FlowProposal
from flywheel_app.tests.factories import FlowFactory, FlowProposalFactory, simple_tree
from flywheel_app.trees import validate_tree
from l1_app.models import L1Category, Walk
from l1_app.services import builder, walks
from l1_app.services.categories import l1_categories_ensure
from l1_app.services.intake import walk_dispatch, walk_start
from l1_app.tests.factories import WalkFactory, WalkStepFactory, question
from resolutionflow.accounts.models import AuditLog, Notification, User
from resolutionflow.accounts.tests.factories import UserFactory
from resolutionflow.ai import budget
from resolutionflow.ai.fake_api import Reply
from resolutionflow.psa.models import InternalTicket
from sessions_app.tests.factories import AISessionFactory

pytestmark = pytest.mark.django_db

Q = {"type": "question", "text": "Is the printer screen lit?", "yes_label": "Yes", "no_label": "No"}


def node_requests(fake):
    return [r for r in fake.requests if "next node" in str(r["messages"][0]["content"])]


def start_ai_walk(client, problem="The office printer shows offline", **extra):
    return client.post(reverse("l1_app:start"), {"problem": problem, "ticket_kind": "new", "how": "build", **extra})


def latest_walk(user) -> Walk:
    return Walk.objects.filter(tech=user).latest("id")


# --- intake dispatch ----------------------------------------------------------------------------


def test_a_flow_scoring_075_starts_its_walk_at_once(tenant_a):
    flow = FlowFactory(account=tenant_a.account, title="Printer offline", keywords=["printer shows offline"],
                       domain="printing")  # fmt: skip
    decision = walk_dispatch(user=tenant_a.l1, problem="Printer offline: the printer shows offline since Monday")
    assert decision.outcome == "flow" and decision.flow == flow and decision.score >= 0.75


def test_a_flow_between_060_and_075_is_suggested_not_started(tenant_a):
    # The title covered, a quarter of the keyword, and the domain: 0.75 x (1 + 0.25) / 2 + 0.25 = 0.719.
    flow = FlowFactory(account=tenant_a.account, title="Printer offline", keywords=["printer paper tray jam"],
                       domain="printing")  # fmt: skip
    decision = walk_dispatch(user=tenant_a.l1, problem="the printer is offline")
    assert decision.outcome == "suggest" and decision.flow == flow
    assert 0.60 <= decision.score < 0.75


def test_below_060_the_category_decides_and_another_accounts_flow_never_matches(tenant_a, tenant_b):
    FlowFactory(account=tenant_b.account, title="Printer offline", keywords=["printer shows offline"])
    decision = walk_dispatch(user=tenant_a.l1, problem="The printer shows offline")
    assert decision.outcome == "build" and decision.category == "printer" and decision.flow is None


def test_a_disallowed_or_unknown_category_is_out_of_scope(tenant_a):
    l1_categories_ensure(account=tenant_a.account)
    L1Category.objects.filter(account=tenant_a.account, key="printer").update(allowed=False)
    assert walk_dispatch(user=tenant_a.l1, problem="The printer shows offline").outcome == "out_of_scope"
    unknown = walk_dispatch(user=tenant_a.l1, problem="The SAN controller firmware is degraded")
    assert unknown.outcome == "out_of_scope" and unknown.category == "unknown"


def test_classification_falls_back_to_the_accounts_own_custom_category(fake_anthropic, tenant_a):
    l1_categories_ensure(account=tenant_a.account)
    L1Category.objects.create(account=tenant_a.account, key="scanner_jam", label="Scanner jams", keywords=["scanner"])
    fake_anthropic.enqueue(*[Reply.error(529, "overloaded_error")] * 3)
    decision = walk_dispatch(user=tenant_a.l1, problem="The scanner jams every morning")
    assert decision.outcome == "build" and decision.category == "scanner_jam"


def test_a_category_the_account_does_not_have_is_unknown(fake_anthropic, tenant_a):
    fake_anthropic.enqueue(Reply.json({"category": "registry_cleanup"}))
    decision = walk_dispatch(user=tenant_a.l1, problem="Something odd with the computer")
    assert decision.category == "unknown" and decision.outcome == "out_of_scope"
    sent = str(fake_anthropic.requests[0]["messages"][0]["content"])
    assert "<data" in sent and "password_reset" in sent  # the account's keys, fenced as data


def test_intake_page_suggests_then_one_tap_walks_the_flow(login, tenant_a):
    flow = FlowFactory(account=tenant_a.account, title="Printer offline", keywords=["printer paper tray jam"],
                       domain="printing", tree=simple_tree())  # fmt: skip
    client = login(tenant_a.l1)
    page = client.post(
        reverse("l1_app:start"), {"problem": "the printer is offline", "ticket_kind": "new", "how": "auto"}
    )
    assert page.status_code == 200 and "A flow looks close" in page.content.decode()
    assert not Walk.objects.exists()  # nothing started until the tech taps
    response = client.post(
        reverse("l1_app:start"),
        {"problem": "the printer is offline", "ticket_kind": "new", "how": "flow", "flow": flow.pk},
    )
    walk = latest_walk(tenant_a.l1)
    assert response.status_code == 302 and walk.kind == "flow" and walk.flow == flow
    assert walk.steps.get().node_id == "q1"
    assert walk.internal_ticket.title == "the printer is offline"


def test_out_of_scope_offers_ad_hoc_escalate_and_build(login, tenant_a):
    client = login(tenant_a.l1)
    page = client.post(reverse("l1_app:start"), {"problem": "The SAN controller is degraded", "ticket_kind": "new"})
    body = page.content.decode()
    assert (
        "Out of scope" in body and 'value="ad_hoc"' in body and 'value="escalate"' in body and 'value="build"' in body
    )
    client.post(reverse("l1_app:start"), {"problem": "The SAN controller is degraded", "ticket_kind": "new",
                                          "how": "escalate", "reason": "SAN alarms"})  # fmt: skip
    walk = latest_walk(tenant_a.l1)
    assert walk.status == "escalated" and walk.kind == "ad_hoc" and not walk.steps.exists()
    assert walk.escalation_category == "out_of_scope" and walk.internal_ticket.status == "escalated"


def test_intake_without_a_problem_is_refused_and_creates_nothing(login, tenant_a):
    response = login(tenant_a.l1).post(reverse("l1_app:start"), {"problem": " ", "ticket_kind": "new"})
    assert response.status_code == 400 and "Describe the problem first." in response.content.decode()
    assert not Walk.objects.exists() and not InternalTicket.objects.exists()


# --- the AI-built walk ----------------------------------------------------------------------------


def test_an_ai_built_walk_serves_server_ids_and_labels(fake_anthropic, login, tenant_a):
    fake_anthropic.enqueue(
        Reply.json({"category": "printer"}),
        Reply.json({"type": "question", "text": "Is it a Microsoft account or a local account?",
                    "yes_label": "Microsoft account", "no_label": "Local account"}),
    )  # fmt: skip
    client = login(tenant_a.l1)
    client.post(reverse("l1_app:start"), {"problem": "The office printer shows offline", "ticket_kind": "new"})
    walk = latest_walk(tenant_a.l1)
    assert not walk.steps.exists()  # the intake saved the walk; its page asks for the first node
    page = client.get(reverse("l1_app:detail", args=[walk.pk])).content.decode()
    assert f'hx-post="{reverse("l1_app:next", args=[walk.pk])}" hx-trigger="load"' in page
    client.post(reverse("l1_app:next", args=[walk.pk]), HTTP_HX_REQUEST="true")
    step = walk.steps.get()
    assert walk.kind == "ai_built" and walk.category == "printer"
    assert step.node_id == "n1" and [c["label"] for c in step.node["choices"]] == ["Microsoft account", "Local account"]
    request = node_requests(fake_anthropic)[0]
    assert request["model"] == settings.AI_MODEL_STRONG
    assert "<data" in str(request["messages"][0]["content"])


def test_missing_or_equal_labels_become_yes_and_no(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    fake_anthropic.enqueue(Reply.json({**Q, "yes_label": "Same", "no_label": "same"}))
    step = builder.walk_build_next(walk=walk, actor=tenant_a.l1).step
    assert [c["label"] for c in step.node["choices"]] == ["Yes", "No"]


def test_the_label_recorded_is_the_served_nodes_never_the_clients(fake_anthropic, login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node=question("n1", yes="Microsoft account", no="Local account"))
    fake_anthropic.enqueue(Reply.json({"type": "instruction", "text": "Restart the printer."}))
    login(tenant_a.l1).post(
        reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "no", "answer_label": "Format the disk"}
    )
    answered = walk.steps.get(node_id="n1")
    assert answered.answer == "no" and answered.answer_label == "Local account"
    assert walk.steps.get(node_id="n2").node["text"] == "Restart the printer."


def test_a_node_over_the_floor_is_regenerated_once_with_the_reason(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    fake_anthropic.enqueue(
        Reply.json({"type": "instruction", "text": "Open regedit and delete the printer's key."}),
        Reply.json({"type": "instruction", "text": "Turn the printer off and on again."}),
    )
    step = builder.walk_build_next(walk=walk, actor=tenant_a.l1).step
    assert step.node["text"] == "Turn the printer off and on again."
    retry = node_requests(fake_anthropic)[1]["messages"]
    assert retry[1]["role"] == "assistant" and "regedit" in str(retry[1]["content"])
    assert "was refused" in str(retry[2]["content"]) and "registry" in str(retry[2]["content"])


def test_a_second_unsafe_node_becomes_escalate(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    fake_anthropic.enqueue(
        Reply.json({"type": "instruction", "text": "Open regedit and delete the printer's key."}),
        Reply.json({**Q, "text": "Did you run the script as administrator?", "yes_label": "Run it as admin"}),
    )
    step = builder.walk_build_next(walk=walk, actor=tenant_a.l1).step
    assert step.node["type"] == "escalate" and "beyond L1 authority" in step.node["reason"]
    assert step.node["replaced"]
    assert len(node_requests(fake_anthropic)) == 2


def test_an_unsafe_label_alone_is_refused(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    fake_anthropic.enqueue(
        Reply.json({**Q, "text": "What should we try next?", "yes_label": "Disable the firewall", "no_label": "Wait"}),
        Reply.json(Q),
    )
    assert builder.walk_build_next(walk=walk, actor=tenant_a.l1).step.node["text"] == Q["text"]


def test_the_twelfth_node_is_escalate_without_an_ai_call(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    for n in range(1, 12):
        WalkStepFactory(walk=walk, order=n, node=question(f"n{n}", text=f"Check {n}?"), answer="yes",
                        answer_label="Yes", answered_at=timezone.now())  # fmt: skip
    step = builder.walk_build_next(walk=walk, actor=tenant_a.l1).step
    assert step.order == 12 and step.node["type"] == "escalate" and "12-step limit" in step.node["reason"]
    assert node_requests(fake_anthropic) == []


def test_a_reload_replays_the_served_node_without_an_ai_call(fake_anthropic, login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    fake_anthropic.enqueue(Reply.json(Q))
    builder.walk_build_next(walk=walk, actor=tenant_a.l1)
    client = login(tenant_a.l1)
    for _ in range(3):
        assert Q["text"] in client.get(reverse("l1_app:detail", args=[walk.pk])).content.decode()
        client.post(reverse("l1_app:next", args=[walk.pk]), HTTP_HX_REQUEST="true")  # a double mount
    assert len(node_requests(fake_anthropic)) == 1 and walk.steps.count() == 1


def test_while_one_request_builds_another_waits_instead_of_paying(fake_anthropic, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    Walk.objects.filter(pk=walk.pk).update(building_until=timezone.now() + timedelta(seconds=60))
    built = builder.walk_build_next(walk=walk, actor=tenant_a.l1)
    assert built.building and built.step is None and node_requests(fake_anthropic) == []


def test_an_ai_failure_keeps_the_answer_and_offers_the_ways_on(fake_anthropic, login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node=question("n1"))
    fake_anthropic.enqueue(*[Reply.error(529, "overloaded_error")] * 3)
    page = login(tenant_a.l1).post(reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "yes"},
                                   HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert walk.steps.get(node_id="n1").answer == "yes"  # saved first
    walk.refresh_from_db()
    assert walk.build_problem and walk.building_until is None
    assert "Try again" in page and "Walk ad hoc" in page and "Escalate" in page


def test_a_busy_ai_keeps_the_answer_and_the_walk_page_retries_by_itself(fake_anthropic, login, tenant_a, settings):
    """Issue 17: the provider's 429 with a retry-after: the answer is saved, the page says the AI is
    busy with a countdown and asks for the node again by itself; the next node clears the wait."""
    settings.AI_PROVIDER_MAX_INLINE_WAIT = 1
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node=question("n1"))
    fake_anthropic.enqueue(Reply.error(429, retry_after=6))
    client = login(tenant_a.l1)
    page = client.post(reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "yes"},
                       HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert walk.steps.get(node_id="n1").answer == "yes"
    walk.refresh_from_db()
    assert walk.build_retry_at is not None and 5 <= (walk.build_retry_at - timezone.now()).total_seconds() <= 6
    assert "The AI is busy" in page and "Your answers are saved. Retrying in" in page
    assert 'data-countdown="6"' in page and 'hx-trigger="submit, rf:autoretry"' in page and "Try again" in page

    budget.backend().clear()
    fake_anthropic.enqueue(Reply.json({"type": "instruction", "text": "Turn the printer off and on again."}))
    again = client.post(reverse("l1_app:next", args=[walk.pk]), HTTP_HX_REQUEST="true").content.decode()
    walk.refresh_from_db()
    assert (walk.build_problem, walk.build_retry_at) == ("", None)
    assert "The AI is busy" not in again and walk.steps.count() == 2


def test_when_the_ai_can_build_nothing_the_walk_goes_ad_hoc(login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, build_problem="The AI service is overloaded.")
    login(tenant_a.l1).post(reverse("l1_app:ad_hoc", args=[walk.pk]))
    walk.refresh_from_db()
    assert walk.kind == "ad_hoc" and walk.build_problem == "" and walk.status == "active"


# --- answers, once -----------------------------------------------------------------------------


def test_a_double_tap_records_once_and_returns_the_same_next_node(fake_anthropic, login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node=question("n1"))
    fake_anthropic.enqueue(Reply.json({"type": "instruction", "text": "Restart the printer."}))
    client = login(tenant_a.l1)
    url = reverse("l1_app:answer", args=[walk.pk, "n1"])
    first = client.post(url, {"value": "yes"}, HTTP_HX_REQUEST="true").content.decode()
    second = client.post(url, {"value": "yes"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Restart the printer." in first and "Restart the printer." in second
    assert walk.steps.count() == 2 and len(node_requests(fake_anthropic)) == 1


def test_another_answer_to_an_answered_step_is_refused(login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, kind="ad_hoc")
    walk.kind = "ai_built"
    walk.save()
    WalkStepFactory(walk=walk, order=1, node=question("n1"), answer="yes", answer_label="Yes",
                    answered_at=timezone.now())  # fmt: skip
    WalkStepFactory(walk=walk, order=2, node=question("n2"))
    page = login(tenant_a.l1).post(reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "no"},
                                   HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert "already answered “Yes”" in page and walk.steps.get(node_id="n1").answer == "yes"


def test_a_value_the_node_does_not_offer_is_refused(login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node=question("n1"))
    page = login(tenant_a.l1).post(reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "maybe"},
                                   HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert "Choose one of the answers shown." in page and not walk.steps.get().answered


def test_a_flow_walk_follows_the_options_to_the_resolution(login, tenant_a):
    flow = FlowFactory(account=tenant_a.account, tree=simple_tree())
    walk = walk_start(user=tenant_a.l1, kind="flow", problem="Device off", flow=flow)
    client = login(tenant_a.l1)
    client.post(reverse("l1_app:answer", args=[walk.pk, "q1"]), {"value": "0"})
    client.post(reverse("l1_app:answer", args=[walk.pk, "i1"]), {"value": "done"})
    steps = list(walk.steps.order_by("order"))
    assert [s.node_id for s in steps] == ["q1", "i1", "r1"] and steps[-1].node["type"] == "resolved"
    assert [s.answer_label for s in steps[:2]] == ["Yes", "Done"]


def test_an_ad_hoc_walk_cannot_be_stepped(login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, kind="ad_hoc")
    page = login(tenant_a.l1).post(reverse("l1_app:answer", args=[walk.pk, "n1"]), {"value": "yes"},
                                   HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert "ad-hoc walk has no steps" in page


# --- notes, only-active, abandonment --------------------------------------------------------------


def test_notes_autosave_and_the_256_kb_cap_keeps_what_was_saved(login, tenant_a):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, kind="ad_hoc")
    client = login(tenant_a.l1)
    url = reverse("l1_app:notes", args=[walk.pk])
    assert "Saved" in client.post(url, {"notes": "Checked cables."}, HTTP_HX_REQUEST="true").content.decode()
    too_big = client.post(url, {"notes": "x" * (256 * 1024 + 1)}, HTTP_HX_REQUEST="true").content.decode()
    assert "limited to 256 KB" in too_big
    walk.refresh_from_db()
    assert walk.notes == "Checked cables."
    assert "Saved" in client.post(url, {"notes": "é" * (128 * 1024)}, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.parametrize("status", ["resolved", "escalated", "abandoned"])
def test_only_an_active_walk_steps_saves_resolves_or_escalates(login, tenant_a, status):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, status=status, notes="kept")
    WalkStepFactory(walk=walk, order=1, node=question("n1"))
    client = login(tenant_a.l1)
    posts = [
        ("l1_app:answer", [walk.pk, "n1"], {"value": "yes"}),
        ("l1_app:notes", [walk.pk], {"notes": "changed"}),
        ("l1_app:resolve", [walk.pk], {"helpful": "yes", "notes": "fixed"}),
        ("l1_app:escalate", [walk.pk], {"category": "other", "reason": "why"}),
    ]
    for name, args, data in posts:
        body = client.post(reverse(name, args=args), data, HTTP_HX_REQUEST="true").content.decode()
        assert f"This walk is {Walk.Status(status).label.lower()}" in body
    walk.refresh_from_db()
    assert walk.status == status and walk.notes == "kept" and not walk.steps.get().answered


def test_a_walk_with_no_step_for_24_hours_is_abandoned_and_kept(tenant_a):
    stale = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, last_step_at=timezone.now() - timedelta(hours=25))
    fresh = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, last_step_at=timezone.now() - timedelta(hours=23))
    assert walks.walks_abandon_stale() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "abandoned" and fresh.status == "active"


# --- resolve and escalate ------------------------------------------------------------------------


def _walked(tenant, kind="ai_built", **kw) -> Walk:
    ticket = InternalTicket.objects.create(account=tenant.account, number=1, title="Printer", created_by=tenant.l1)
    walk = WalkFactory(account=tenant.account, tech=tenant.l1, kind=kind, internal_ticket=ticket, **kw)
    now = timezone.now()
    WalkStepFactory(walk=walk, order=1, node=question("n1", text="Is it a Microsoft account or a local account?",
                    yes="Microsoft account", no="Local account"), answer="no", answer_label="Local account",
                    answered_at=now)  # fmt: skip
    WalkStepFactory(walk=walk, order=2, node={"id": "n2", "type": "instruction", "text": "Restart the printer.",
                    "choices": [{"value": "done", "label": "Done"}]}, answer="done", answer_label="Done",
                    answered_at=now)  # fmt: skip
    WalkStepFactory(walk=walk, order=3, node={"id": "n3", "type": "resolved", "text": "The restart fixed it.",
                                              "choices": []})  # fmt: skip
    return walk


def test_resolving_a_helpful_ai_built_walk_captures_a_validated_proposal(login, tenant_a):
    walk = _walked(tenant_a)
    login(tenant_a.l1).post(reverse("l1_app:resolve", args=[walk.pk]), {"helpful": "yes", "notes": "Restarted."})
    walk.refresh_from_db()
    proposal = FlowProposal.objects.get(walk=walk)
    assert walk.status == "resolved" and walk.helpful is True
    assert proposal.source == "ai_realtime_l1" and proposal.validated_by_outcome and proposal.status == "pending"
    validate_tree(proposal.tree)
    by_id = {n["id"]: n for n in proposal.tree["nodes"]}
    taken = {o["label"]: o["next"] for o in by_id["n1"]["options"]}
    assert taken["Local account"] == "n2" and by_id[taken["Microsoft account"]]["needs_review"]
    assert by_id[by_id["n2"]["next"]]["text"] == "The restart fixed it."
    assert walk.internal_ticket.status == "resolved" and walk.internal_ticket.resolution_notes == "Restarted."
    assert "Local account" in walk.internal_ticket.notes.get().body
    assert AuditLog.objects.filter(action="l1_walk.resolve", object_id=str(walk.pk), acting_as="l1_tech").exists()


def test_an_unhelpful_walk_proposes_nothing(login, tenant_a):
    walk = _walked(tenant_a)
    login(tenant_a.l1).post(reverse("l1_app:resolve", args=[walk.pk]), {"helpful": "no", "notes": "Swapped toner."})
    assert not FlowProposal.objects.exists()


def test_a_helpful_proposal_walk_validates_the_proposal(login, tenant_a):
    proposal = FlowProposalFactory(account=tenant_a.account, status="approved", reviewed_at=timezone.now(),
                                   tree=simple_tree(), validated_by_outcome=False)  # fmt: skip
    walk = walk_start(user=tenant_a.l1, kind="proposal", problem="Device off", proposal=proposal)
    login(tenant_a.l1).post(reverse("l1_app:resolve", args=[walk.pk]), {"helpful": "yes", "notes": "Powered on."})
    proposal.refresh_from_db()
    assert proposal.validated_by_outcome


def test_resolve_needs_notes_and_changes_nothing_without(login, tenant_a):
    walk = _walked(tenant_a)
    body = login(tenant_a.l1).post(reverse("l1_app:resolve", args=[walk.pk]), {"helpful": "yes", "notes": ""},
                                   HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    walk.refresh_from_db()
    assert "Say what fixed it" in body and walk.status == "active"


def test_escalate_tells_the_accounts_engineers_and_nobody_else(login, tenant_a, tenant_b):
    walk = _walked(tenant_a)
    tenant_a.engineer.is_active = False
    tenant_a.engineer.save()
    data = {"category": "safe_steps_exhausted", "reason": "Still offline after a restart."}
    login(tenant_a.l1).post(reverse("l1_app:escalate", args=[walk.pk]), data)
    walk.refresh_from_db()
    told = set(Notification.objects.values_list("recipient__email", flat=True))
    assert walk.status == "escalated" and walk.internal_ticket.status == "escalated"
    assert told == {tenant_a.owner.email, tenant_a.admin.email, tenant_a.coverage_engineer.email}
    note = Notification.objects.first()
    assert note.url == reverse("l1_app:escalation_detail", args=[walk.pk])
    assert AuditLog.objects.filter(action="l1_walk.escalate", object_id=str(walk.pk)).exists()


def test_with_no_engineer_left_the_owners_and_admins_are_still_told(tenant_a):
    walk = _walked(tenant_a)
    User.objects.filter(account=tenant_a.account, role="engineer").update(is_active=False)
    walks.walk_escalate(walk=walk, actor=tenant_a.l1, category="other", reason="x")
    assert set(Notification.objects.values_list("recipient__role", flat=True)) == {"owner", "admin"}


def test_a_coverage_engineer_is_audited_as_l1_coverage(login, tenant_a):
    client = login(tenant_a.coverage_engineer)
    page = client.get(reverse("l1_app:home")).content.decode()
    assert "You are covering L1" in page
    client.post(reverse("l1_app:start"), {"problem": "Walk it", "ticket_kind": "new", "how": "ad_hoc"})
    walk = latest_walk(tenant_a.coverage_engineer)
    client.post(reverse("l1_app:escalate", args=[walk.pk]), {"category": "other", "reason": "x"})
    assert walk.acting_as == "l1_coverage"
    assert AuditLog.objects.get(action="l1_walk.escalate").acting_as == "l1_coverage"


# --- who may open what ----------------------------------------------------------------------------


def test_another_accounts_walk_is_404_everywhere(login, tenant_a, tenant_b):
    walk = _walked(tenant_a)
    client = login(tenant_b.l1)
    assert client.get(reverse("l1_app:detail", args=[walk.pk])).status_code == 404
    for name, args in [
        ("l1_app:answer", [walk.pk, "n3"]),
        ("l1_app:notes", [walk.pk]),
        ("l1_app:next", [walk.pk]),
        ("l1_app:resolve", [walk.pk]),
        ("l1_app:escalate", [walk.pk]),
        ("l1_app:ad_hoc", [walk.pk]),
    ]:
        assert client.post(reverse(name, args=args), {"value": "yes"}).status_code == 404  # fmt: skip
    walk.refresh_from_db()
    assert walk.status == "active"


def test_another_techs_walk_is_404_and_the_walk_page_is_for_l1_only(login, tenant_a):
    walk = _walked(tenant_a)
    other = UserFactory(account=tenant_a.account, role="l1_tech")
    assert login(other).get(reverse("l1_app:detail", args=[walk.pk])).status_code == 404
    assert login(tenant_a.admin).get(reverse("l1_app:detail", args=[walk.pk])).status_code == 403


def test_an_l1_tech_never_reaches_engineer_sessions(login, tenant_a):
    session = AISessionFactory(account=tenant_a.account, owner=tenant_a.engineer)
    client = login(tenant_a.l1)
    for url in (
        reverse("sessions_app:list"),
        reverse("sessions_app:new"),
        reverse("sessions_app:detail", args=[session.pk]),
        reverse("sessions_app:escalation_queue"),
    ):
        assert client.get(url).status_code in (403, 404), url  # fmt: skip


def test_the_walk_page_costs_a_fixed_number_of_queries(login, tenant_a, django_assert_max_num_queries):
    walk = _walked(tenant_a)
    client = login(tenant_a.l1)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("l1_app:detail", args=[walk.pk])).status_code == 200
    for n in range(4, 11):
        WalkStepFactory(walk=walk, order=n, node=question(f"n{n}"), answer="yes", answer_label="Yes",
                        answered_at=timezone.now())  # fmt: skip
    with django_assert_max_num_queries(12):
        client.get(reverse("l1_app:detail", args=[walk.pk]))


def test_the_dashboard_lists_walks_in_progress_latest_first(login, tenant_a):
    older = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem="Older walk",
                        last_step_at=timezone.now() - timedelta(hours=2))  # fmt: skip
    newer = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem="Newer walk")
    WalkFactory(account=tenant_a.account, problem="Someone else's walk")
    body = login(tenant_a.l1).get(reverse("l1_app:home")).content.decode()
    assert body.index(newer.problem) < body.index(older.problem) and "Someone else" not in body


def test_when_the_ai_has_no_first_step_a_near_flow_can_be_walked_instead(fake_anthropic, login, tenant_a):
    flow = FlowFactory(account=tenant_a.account, title="Printer offline", keywords=["printer"], tree=simple_tree())
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1, problem="printer offline")
    fake_anthropic.enqueue(Reply.json({"type": "escalate", "text": "Nothing safe to try.", "reason": "no knowledge"}))
    builder.walk_build_next(walk=walk, actor=tenant_a.l1)
    client = login(tenant_a.l1)
    page = client.get(reverse("l1_app:detail", args=[walk.pk])).content.decode()
    assert "no safe steps for this problem" in page and "Walk “Printer offline”" in page
    client.post(reverse("l1_app:use_flow", args=[walk.pk]), {"flow": flow.pk})
    walk.refresh_from_db()
    assert walk.kind == "flow" and walk.flow == flow and [s.node_id for s in walk.steps.all()] == ["q1"]


def test_the_abandon_job_is_on_the_beat(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "l1_app.tasks.walks_abandon_stale")
    assert entry["schedule"] <= 60 * 60


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("the printer shows a hardware error: an engineer must book a repair", "hardware"),
        ("exhausted safe steps", "safe_steps_exhausted"),
        ("reached the 12-step limit of an AI-built walk", "safe_steps_exhausted"),
        ("the account must be unlocked by an engineer", "beyond_l1"),
    ],
)
def test_an_escalate_node_preselects_the_reason_it_gives(login, tenant_a, reason, category):
    walk = WalkFactory(account=tenant_a.account, tech=tenant_a.l1)
    WalkStepFactory(walk=walk, order=1, node={"id": "n1", "type": "escalate", "text": "Escalate.", "choices": [],
                                              "reason": reason})  # fmt: skip
    page = login(tenant_a.l1).get(reverse("l1_app:detail", args=[walk.pk])).content.decode()
    assert f'<option value="{category}" selected>' in page
