from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    verbose_name = "Engineer sessions"
    name = "sessions_app"

    def ready(self) -> None:
        from resolutionflow.ai.signals import usage_recorded
        from sessions_app.services.usage import usage_recorded_for_session

        usage_recorded.connect(usage_recorded_for_session, dispatch_uid="sessions_usage_totals")
