from django.apps import AppConfig


class L1AppConfig(AppConfig):
    name = "l1_app"
    verbose_name = "L1 walks"

    def ready(self) -> None:
        # The offline demo's responders for the L1 actions (l1_classify, l1_tree_node).
        from l1_app import (
            demo,  # noqa: F401
            receivers,  # noqa: F401 - the walk's PSA post is sent after the commit
        )
