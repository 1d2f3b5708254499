from django.apps import AppConfig


class PSAConfig(AppConfig):
    name = "resolutionflow.psa"
    label = "psa"
    verbose_name = "Tickets and PSA"
