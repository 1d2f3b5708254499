from django.apps import AppConfig


class FactsAppConfig(AppConfig):
    name = "facts_app"
    verbose_name = "What we know"

    def ready(self) -> None:
        from sessions_app.signals import session_escalated, turn_recorded

        from . import previews  # noqa: F401  (registers the document drafter with sessions_app)
        from .receivers import promote_facts_from_turn, queue_handoff_assessment

        turn_recorded.connect(promote_facts_from_turn, dispatch_uid="facts_promote_from_turn")
        session_escalated.connect(queue_handoff_assessment, dispatch_uid="facts_queue_handoff_assessment")
