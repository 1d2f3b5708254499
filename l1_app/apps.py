from django.apps import AppConfig


class L1AppConfig(AppConfig):
    name = "l1_app"
