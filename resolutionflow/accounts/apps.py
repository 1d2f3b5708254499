from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "resolutionflow.accounts"
    label = "accounts"
    verbose_name = "Accounts"
