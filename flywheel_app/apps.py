from django.apps import AppConfig


class FlywheelAppConfig(AppConfig):
    verbose_name = "Knowledge flywheel"
    name = "flywheel_app"
