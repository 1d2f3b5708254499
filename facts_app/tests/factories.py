import factory
from factory.django import DjangoModelFactory

from facts_app.models import Fact
from sessions_app.tests.factories import AISessionFactory


class FactFactory(DjangoModelFactory):
    class Meta:
        model = Fact

    session = factory.SubFactory(AISessionFactory)
    account = factory.SelfAttribute("session.account")
    author = factory.SelfAttribute("session.owner")
    text = factory.Sequence(lambda n: f"Outlook on the web signs in fine ({n}).")
    source_type = Fact.SourceType.USER_NOTE
    source_ref = ""
    summary = "rules out the account"
