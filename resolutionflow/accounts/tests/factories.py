import factory
from factory.django import DjangoModelFactory

from resolutionflow.accounts.models import Account, Notification, Role, Team, User

TEST_PASSWORD = "test-pass-9f2c"


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ["slug"]

    name = factory.Faker("company")
    slug = factory.Sequence(lambda n: f"account-{n}")


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    role = Role.ENGINEER
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class NotificationFactory(DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    account = factory.SelfAttribute("recipient.account")
    kind = "test"
    title = factory.Faker("sentence", nb_words=5)
