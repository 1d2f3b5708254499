from django.apps import AppConfig


class AIConfig(AppConfig):
    name = "resolutionflow.ai"
    label = "ai"
    verbose_name = "AI"

    def ready(self) -> None:
        # Each app's prompts module registers its demo responders.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("prompts")
