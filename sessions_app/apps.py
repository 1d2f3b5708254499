from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    verbose_name = "Engineer sessions"
    name = "sessions_app"
