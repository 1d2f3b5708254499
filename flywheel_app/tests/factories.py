import factory
from factory.django import DjangoModelFactory

from flywheel_app.models import Flow
from resolutionflow.accounts.tests.factories import AccountFactory


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
