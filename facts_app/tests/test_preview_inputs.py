"""Every write that changes an input of a preview bumps state_version (issue #10.8, SPEC §6): else
the next preview says "from cache" without it. One test per input's writer, listed beside
`facts_app.previews.preview_bundle`."""

import pytest

from facts_app import services as facts
from facts_app.tests.factories import FactFactory
from resolutionflow.ai.fake_api import Reply
from sessions_app.models import AISession, LaneItem, SessionStep
from sessions_app.services import fixes, lifecycle, scripts, turns
from sessions_app.tests.factories import (
    AISessionFactory,
    ScriptTemplateFactory,
    SessionStepFactory,
    action_turn,
    question_turn,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(tenant_a):
    session = AISessionFactory(owner=tenant_a.engineer, team=tenant_a.team, step_count=1)
    SessionStepFactory(session=session, order=1, turn=action_turn("Restart the spooler."))
    LaneItem.objects.create(
        account=tenant_a.account, session=session, kind="check", public_id="C1", text="Spooler running?",
        normalized_text="Spooler running?", first_step=1, last_step=1,
    )  # fmt: skip
    return session


def version(session) -> int:
    return AISession.objects.values_list("state_version", flat=True).get(pk=session.pk)


def _template(session):
    return ScriptTemplateFactory(
        account=session.account, owner=session.owner, body="Restart-Service -Name {{ name }}",
        parameters=[{"key": "name", "label": "Service", "type": "text", "required": True}],
    )  # fmt: skip


WRITERS = {
    "a-note": lambda s: facts.fact_create(session=s, actor=s.owner, text="Spooler restarts fine."),
    "a-fact-edit": lambda s: facts.fact_update(fact=FactFactory(session=s), actor=s.owner, text="Edited."),
    "a-fact-delete": lambda s: facts.fact_delete(fact=FactFactory(session=s), actor=s.owner),
    "a-fix": lambda s: fixes.fix_propose(session=s, step=None, title="Restart the spooler"),
    "a-checks-answer": lambda s: turns.lane_item_answer(
        session=s, item=s.lane_items.get(), actor=s.owner, answer="Running"
    ),
    "an-actions-result": lambda s: turns.session_answer_step(
        session=s, step=s.steps.get(), actor=s.owner, kind=SessionStep.ResponseKind.ACTION_RESULT, worked=True
    ),
    "a-linked-ticket": lambda s: lifecycle.session_link_ticket(session=s, actor=s.owner, psa_ticket_ref="4242"),
    "a-script-generated": lambda s: scripts.script_generate(
        session=s, template=_template(s), actor=s.owner, values={"name": "Spooler"}
    ),
    "a-script-attached": lambda s: scripts.fix_attach_script(
        fix=fixes.fix_propose(session=s, step=None, title="Restart"), actor=s.owner, body="Restart-Service Spooler"
    ),
    "a-fix-run-one-off": lambda s, fix: scripts.fix_run_script(fix=fix, actor=s.owner, values={"name": "Spooler"}),
    "a-template-built-first": lambda s, fix: scripts.fix_template_create(
        fix=fix,
        actor=s.owner,
        name="Restart a service",
        body="Restart-Service -Name {{ name }}",
        parameters=[{"key": "name", "label": "Service", "type": "text", "required": True}],
    ),  # fmt: skip
}


def _fix_to_run(session):
    """A fix whose builder script waits for its parameters (run as one-off chosen)."""
    fix = scripts.fix_attach_script(
        fix=fixes.fix_propose(session=session, step=None, title="Restart"), actor=session.owner,
        body="Restart-Service -Name {{ name }}",
    )  # fmt: skip
    return fixes.fix_decide(fix=fix, actor=session.owner, decision="one_off")


# Writers that act on something made first (its own writes bump too, so it is made before counting).
PREPARED = {"a-fix-run-one-off": _fix_to_run, "a-template-built-first": _fix_to_run}


@pytest.mark.parametrize("writer", list(WRITERS), ids=list(WRITERS))
def test_each_writer_of_a_preview_input_bumps_state_version(session, writer):
    current = AISession.objects.get(pk=session.pk)
    prepared = (PREPARED[writer](current),) if writer in PREPARED else ()
    before = version(session)
    WRITERS[writer](current, *prepared)
    assert version(session) > before


def test_a_turn_bumps_it_its_questions_and_checks_are_an_input(session, fake_anthropic):
    turns.session_answer_step(
        session=session, step=session.steps.get(), actor=session.owner, kind="action_result", worked=True
    )
    before = version(session)
    fake_anthropic.enqueue(Reply.json(question_turn("Next?", checks=["Print a test page"])))

    turns.session_take_turn(session=AISession.objects.get(pk=session.pk), actor=session.owner)

    assert version(session) == before + 1
