"""Conventions that test themselves, generated from the URLconf (SPEC §1, §2; ARCHITECTURE.md):

- every route that takes an object id answers 404 to a user of another account, for GET and POST,
  and changes nothing;
- every session action answers 403 to a colleague who may read the session (it awaits pickup)
  but not act on it, and changes nothing — except the two a colleague takes before pickup.

A route added later (L1 walks, the flywheel, analytics) is covered without anyone remembering:
a URL parameter these tests cannot fill fails them until `OBJECTS` learns how to make one."""

from collections.abc import Iterator

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from facts_app.models import AIFeedback, Fact
from l1_app.models import L1Category, Walk, WalkStep
from l1_app.tests.factories import question
from resolutionflow.accounts.models import Notification
from resolutionflow.psa.models import InternalTicket
from sessions_app.models import (
    AISession,
    Escalation,
    LaneItem,
    ScriptGeneration,
    ScriptTemplate,
    SessionStep,
    SuggestedFix,
    TemplateDraft,
    TicketPush,
)
from sessions_app.tests.factories import AISessionFactory, question_turn, step_content

pytestmark = pytest.mark.django_db

# Namespaces whose pages are not the product's own (the Django admin scopes itself: test_admin_scoping).
SKIP_NAMESPACES = {"admin"}


def routes() -> Iterator[tuple[str, URLPattern, str]]:
    """(route name with namespace, pattern, route text) of every URL pattern that takes arguments."""

    def walk(patterns, namespace: str, prefix: str):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in SKIP_NAMESPACES:
                    continue
                ns = ":".join(filter(None, [namespace, entry.namespace]))
                yield from walk(entry.url_patterns, ns, prefix + str(entry.pattern))
            elif entry.pattern.regex.groupindex:
                yield ":".join(filter(None, [namespace, entry.name])), entry, prefix + str(entry.pattern)

    yield from walk(get_resolver().url_patterns, "", "")


def world(owner, *, status: str = "active") -> dict:
    """A session of `owner` with one object of every kind a URL can point at."""
    account = owner.account
    session = AISessionFactory(owner=owner, status=status, step_count=1)
    turn = question_turn("Does it happen everywhere?", questions=["Is MFA on?"])
    step = SessionStep.objects.create(
        account=account, session=session, order=1, step_type="question", content=step_content(turn)
    )
    item = LaneItem.objects.create(
        account=account, session=session, kind="question", public_id="Q1", text="Is MFA on?",
        normalized_text="Is MFA on?", first_step=1, last_step=1, status="answered", answer="Yes",
    )  # fmt: skip
    template = ScriptTemplate.objects.create(
        account=account, owner=owner, name="Restart spooler", slug="restart-spooler", visibility="team",
        body="Restart-Service -Name {{ name }}",
        parameters=[{"key": "name", "label": "Service", "type": "text", "required": True}],
    )  # fmt: skip
    # A fix whose script waits for its parameters (run as one-off chosen), so the run and the
    # template editor have something to act on.
    fix = SuggestedFix.objects.create(
        account=account, session=session, title="Reset the profile", script_template=template, decision="one_off"
    )
    generation = ScriptGeneration.objects.create(
        account=account, session=session, fix=fix, template=template, author=owner, script="Restart-Service 'x'"
    )
    push = TicketPush.objects.create(
        account=account,
        session=session,
        kind="resolution_note",
        body="Note",
        status="failed",
        error="PSA down",
        attempts=1,
        created_by=owner,
    )
    fact = Fact.objects.create(account=account, session=session, text="OWA works.", source_type="user_note")
    draft = TemplateDraft.objects.create(
        account=account, session=session, fix=fix, author=owner, name="Reset", body="Reset-It", parameters=[]
    )
    ticket = InternalTicket.objects.create(
        account=account, number=900 + owner.pk, title="Printer", description="x", created_by=owner
    )
    notification = Notification.objects.create(account=account, recipient=owner, kind="escalation", title="Hi")
    # An escalated L1 walk with a served step (the engineers' list shows only escalated ones), and a category.
    walk = Walk.objects.create(account=account, tech=owner, kind="ai_built", problem="Printer", category="printer",
                               status="escalated", escalation_category="other", escalation_reason="x")  # fmt: skip
    WalkStep.objects.create(account=account, walk=walk, order=1, node_id="n1", node=question("n1"))
    category = L1Category.objects.create(account=account, key="scanner", label="Scanner", description="Observe.")
    return {
        "walk_id": walk.pk, "node_id": "n1", "category_id": category.pk,
        "session_id": session.pk, "step_id": step.pk, "item_id": item.pk, "fix_id": fix.pk,
        "generation_id": generation.pk, "push_id": push.pk, "fact_id": fact.pk, "number": ticket.number,
        "notification_id": notification.pk, "kind": "resolution_note", "template": template.pk, "draft": draft.pk,
        "object_id": push.pk,
    }  # fmt: skip


def snapshot(account) -> dict:
    """Every row a route could change, as values: compared before and after."""
    models = [
        AISession, SessionStep, LaneItem, SuggestedFix, ScriptGeneration, ScriptTemplate, TicketPush, Fact,
        TemplateDraft,
    ]  # fmt: skip
    rows = {m.__name__: list(m.objects.filter(account=account).order_by("pk").values()) for m in models}
    rows["InternalTicket"] = list(InternalTicket.objects.filter(account=account).order_by("pk").values())
    rows["Notification"] = list(Notification.objects.filter(account=account).order_by("pk").values())
    rows["Escalation"] = list(Escalation.objects.filter(account=account).order_by("pk").values())
    rows["AIFeedback"] = list(AIFeedback.objects.filter(account=account).order_by("pk").values())
    for model in (Walk, WalkStep, L1Category):
        rows[model.__name__] = list(model.objects.filter(account=account).order_by("pk").values())
    return rows


def _reverse(name: str, ids: dict, pattern: URLPattern) -> str:
    kwargs = {key: ids[key] for key in pattern.pattern.regex.groupindex}
    missing = set(pattern.pattern.regex.groupindex) - set(ids)
    assert not missing, f"{name}: no test object for {sorted(missing)}; teach world() to make one"
    return reverse(name, kwargs=kwargs)


# What a POST to each session action sends, so its form is valid and the refusal comes from the
# rule under test, not from a missing field. A new action without an entry posts nothing.
VALID_POST = {
    "sessions_app:answer": {"value": "yes"},
    "sessions_app:lane_answer": {"answer": "Yes, MFA is on"},
    "sessions_app:resolve": {"code": "fixed", "summary": "Reset the profile"},
    "sessions_app:rate": {"rating": "5"},
    "sessions_app:link_ticket": {"psa_ticket_ref": "12345"},
    "sessions_app:escalate": {"reason": "Stuck", "intercept": "didnt"},
    "sessions_app:claim": {"mode": "continue"},
    "sessions_app:fix_decide": {"decision": "dismissed"},
    "sessions_app:fix_outcome": {"outcome": "applied_success"},
    "sessions_app:fix_ai_outcome": {"answer": "reject"},
    "sessions_app:fix_script": {"body": "Write-Output 1"},
    "sessions_app:fix_run": {"param_name": "Spooler"},
    "sessions_app:fix_template": {
        "action": "save",
        "name": "Restart a service",
        "body": "Restart-Service -Name {{ name }}",
        "p_name_label": "Service",
        "p_name_type": "text",
        "p_name_required": "on",
    },
    "sessions_app:fix_script_draft": {"request": "check first"},
    "sessions_app:script_generate": {"param_name": "Spooler"},
    "sessions_app:drafts": {"action": "reject"},
    "facts_app:add": {"text": "Not mine."},
    "facts_app:edit": {"text": "Changed."},
    "facts_app:promote": {"action": "save", "text": "MFA is on."},
    "facts_app:vote": {"vote": "down", "reason": "wrong"},
    "l1_app:answer": {"value": "yes"},
    "l1_app:notes": {"notes": "Changed."},
    "l1_app:resolve": {"helpful": "yes", "notes": "Fixed."},
    "l1_app:escalate": {"category": "other", "reason": "Stuck."},
    "l1_app:category_edit": {"label": "Changed", "description": "Changed.", "keywords": ""},
    "l1_app:category_allowed": {"allowed": "false"},
}


def _attacker(name: str, tenant):
    """The user of the other account who may use the route at all (a role refused is a 403 before
    any lookup, which tells nothing): L1 for the walk page, an admin for the allowlist editor."""
    if name.startswith("l1_app:category"):
        return tenant.admin
    if name.startswith("l1_app:") and not name.startswith("l1_app:escalation"):
        return tenant.l1
    return tenant.engineer


def _post_data(name: str, ids: dict) -> dict:
    data = dict(VALID_POST.get(name, {}))
    if name == "sessions_app:script_generate":
        data["template"] = ids["template"]
    if name == "sessions_app:drafts":
        data["draft"] = ids["draft"]
    return data


# Routes whose parameters name no object (which section of a page, which chart): nothing of another
# account can be asked for through them; their own tests prove they count the user's account only
# (flywheel_app/tests/test_analytics.py).
NOT_OBJECTS = {"flywheel_app:analytics_csv"}
ROUTES = sorted((r for r in routes() if r[0] not in NOT_OBJECTS), key=lambda r: r[0])


@pytest.mark.parametrize(("name", "pattern", "prefix"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_another_accounts_object_is_a_404_and_nothing_changes(
    tenant_a, tenant_b, client, fake_anthropic, name, pattern, prefix, htmx
):
    theirs = world(tenant_b.engineer)
    # The session awaits pickup: still, nobody of another account may even read it.
    AISession.objects.filter(pk=theirs["session_id"]).update(status="requesting_escalation")
    url = _reverse(name, theirs, pattern)
    before = snapshot(tenant_b.account)
    client.force_login(_attacker(name, tenant_a))
    headers = {"HX-Request": "true"} if htmx else {}

    # A method the route does not take is refused before any lookup (405 tells nothing about the id);
    # every method it takes answers 404, exactly as for an id that does not exist.
    answers = {
        "GET": client.get(url, headers=headers).status_code,
        "POST": client.post(url, _post_data(name, theirs), headers=headers).status_code,
    }
    assert set(answers.values()) <= {404, 405} and 404 in answers.values(), f"{url}: {answers}"

    assert snapshot(tenant_b.account) == before
    assert fake_anthropic.received == 0


# Session routes that only read: a colleague may open them while the session awaits pickup.
READS = {
    "sessions_app:detail", "sessions_app:handoff", "sessions_app:handoff_assessment", "sessions_app:screenshot",
    "sessions_app:documentation", "facts_app:panel",
}  # fmt: skip
SESSION_ROUTES = [r for r in ROUTES if "session_id" in r[1].pattern.regex.groupindex]
# The actions a colleague takes on a session awaiting pickup: claiming it (test_escalation covers who
# may), asking for its handoff assessment again (test_ai_faults does), and rating the AI output they
# read — the escalation package above all (issue 16; facts_app/tests/test_feedback.py covers it).
COLLEAGUE_ACTIONS = {"sessions_app:claim", "facts_app:assessment_retry", "facts_app:vote"}
SESSION_ACTIONS = [r for r in SESSION_ROUTES if r[0] not in READS and r[0] not in COLLEAGUE_ACTIONS]


@pytest.mark.parametrize(("name", "pattern", "prefix"), SESSION_ACTIONS, ids=[r[0] for r in SESSION_ACTIONS])
def test_a_colleague_who_may_only_read_gets_403_from_every_session_action(
    tenant_a, client, fake_anthropic, name, pattern, prefix
):
    ours = world(tenant_a.engineer, status="requesting_escalation")
    url = _reverse(name, ours, pattern)
    client.force_login(tenant_a.coverage_engineer)  # an engineer of the account, not the session's
    before = snapshot(tenant_a.account)

    response = client.post(url, _post_data(name, ours), headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Error-Status"] == "403", (name, response.content[:300])
    assert client.post(url, _post_data(name, ours)).status_code == 403, name

    assert snapshot(tenant_a.account) == before
    assert fake_anthropic.received == 0


@pytest.mark.parametrize("name", sorted(READS))
def test_the_reads_take_no_post(tenant_a, client, name):
    ours = world(tenant_a.engineer, status="requesting_escalation")
    pattern = next(r[1] for r in SESSION_ROUTES if r[0] == name)
    client.force_login(tenant_a.coverage_engineer)
    before = snapshot(tenant_a.account)
    assert client.post(_reverse(name, ours, pattern)).status_code == 405
    assert snapshot(tenant_a.account) == before
