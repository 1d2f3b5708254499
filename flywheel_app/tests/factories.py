import factory
from factory.django import DjangoModelFactory

from flywheel_app.models import Flow, FlowProposal
from resolutionflow.accounts.tests.factories import AccountFactory
from sessions_app.tests.factories import AISessionFactory


def simple_tree(question: str = "Is the device powered on?", fix: str = "Restart the device.") -> dict:
    return {
        "start": "q1",
        "nodes": [
            {
                "id": "q1",
                "type": "question",
                "text": question,
                "options": [{"label": "Yes", "next": "i1"}, {"label": "No", "next": "r2"}],
            },
            {"id": "i1", "type": "instruction", "text": "Check the cable.", "next": "r1"},
            {"id": "r1", "type": "resolution", "text": fix},
            {"id": "r2", "type": "resolution", "text": "Power it on."},
        ],
    }


class FlowFactory(DjangoModelFactory):
    class Meta:
        model = Flow

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Flow {n}")
    domain = "other"
    keywords = factory.LazyFunction(list)
    when_to_use = ""
    tree = factory.LazyFunction(simple_tree)
    published = True


def enhanced_tree() -> dict:
    """`simple_tree` as an enhancement would change it: the cable check reworded, the "No" branch
    now asks one more question (a new node, one branch a needs_review stub), the old "Power it on"
    end gone."""
    return {
        "start": "q1",
        "nodes": [
            {
                "id": "q1",
                "type": "question",
                "text": "Is the device powered on?",
                "options": [{"label": "Yes", "next": "i1"}, {"label": "No", "next": "q2"}],
            },
            {"id": "i1", "type": "instruction", "text": "Reseat the power and network cables.", "next": "r1"},
            {"id": "r1", "type": "resolution", "text": "Restart the device."},
            {
                "id": "q2",
                "type": "question",
                "text": "Does the power LED light up?",
                "options": [{"label": "Yes", "next": "r3"}, {"label": "No", "next": "r4"}],
            },
            {"id": "r3", "type": "resolution", "text": "Hold the power button for ten seconds."},
            {"id": "r4", "type": "resolution", "text": "Not explored yet: what to do here.", "needs_review": True},
        ],
    }


class FlowProposalFactory(DjangoModelFactory):
    """A pending new-flow proposal from an engineer session (of a user of a fresh account unless
    `session` or `session__owner` says otherwise). `enhancement=True` makes it change `target_flow`."""

    class Meta:
        model = FlowProposal

    class Params:
        enhancement = factory.Trait(
            type=FlowProposal.Type.ENHANCEMENT,
            target_flow=factory.SubFactory(FlowFactory, account=factory.SelfAttribute("..account")),
            tree=factory.LazyFunction(enhanced_tree),
            changes="The session found the device dead: the No branch now checks the power LED first.",
        )

    session = factory.SubFactory(AISessionFactory)
    account = factory.SelfAttribute("session.account")
    type = FlowProposal.Type.NEW_FLOW
    source = FlowProposal.Source.SESSION_ANALYSIS
    title = factory.Sequence(lambda n: f"Device will not start after update {n}")
    description = "When a device stays dark after an update."
    keywords = factory.LazyFunction(lambda: ["device will not start", "dark screen"])
    domain = "hardware"
    tree = factory.LazyFunction(simple_tree)
    validated_by_outcome = True
    evidence_session_ids = factory.LazyAttribute(lambda o: [o.session.pk])
    evidence_count = factory.LazyAttribute(lambda o: len(o.evidence_session_ids))
