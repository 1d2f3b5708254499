from django.apps import AppConfig


class FlywheelAppConfig(AppConfig):
    name = "flywheel_app"
