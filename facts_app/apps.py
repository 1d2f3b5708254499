from django.apps import AppConfig


class FactsAppConfig(AppConfig):
    name = "facts_app"
