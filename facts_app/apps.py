from django.apps import AppConfig


class FactsAppConfig(AppConfig):
    name = "facts_app"
    verbose_name = "What we know"

    def ready(self) -> None:
        from sessions_app.signals import turn_recorded

        from .receivers import promote_facts_from_turn

        turn_recorded.connect(promote_facts_from_turn, dispatch_uid="facts_promote_from_turn")
