import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from l1_app.models import Walk, WalkStep
from resolutionflow.accounts.models import Role
from resolutionflow.accounts.tests.factories import AccountFactory, UserFactory


class WalkFactory(DjangoModelFactory):
    class Meta:
        model = Walk

    account = factory.SubFactory(AccountFactory)
    tech = factory.LazyAttribute(lambda o: UserFactory(account=o.account, role=Role.L1_TECH))
    kind = Walk.Kind.AI_BUILT
    problem = "The printer on the second floor shows offline."
    category = "printer"


def question(node_id: str = "n1", text: str = "Is the printer's screen lit?", yes: str = "Yes", no: str = "No") -> dict:
    """A served question node, as the server stores it."""
    return {
        "id": node_id,
        "type": "question",
        "text": text,
        "choices": [{"value": "yes", "label": yes}, {"value": "no", "label": no}],
    }


class WalkStepFactory(DjangoModelFactory):
    """A served node; pass answer/answer_label/answered_at for an answered one."""

    class Meta:
        model = WalkStep

    walk = factory.SubFactory(WalkFactory)
    account = factory.LazyAttribute(lambda o: o.walk.account)
    order = factory.Sequence(lambda n: n + 1)
    node_id = factory.LazyAttribute(lambda o: f"n{o.order}")
    node = factory.LazyAttribute(lambda o: question(o.node_id))
    served_at = factory.LazyFunction(timezone.now)
