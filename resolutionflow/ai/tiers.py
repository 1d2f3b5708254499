"""Which model tier each AI action runs on (SPEC §10). Every action must be named here:
an unknown action is a programming error, not a silent default."""

from enum import StrEnum

from django.conf import settings


class Tier(StrEnum):
    FAST = "fast"
    STRONG = "strong"


ACTION_TIERS: dict[str, Tier] = {
    # fast: short, cheap, latency-sensitive
    "session_classify": Tier.FAST,
    "fact_draft": Tier.FAST,
    "l1_classify": Tier.FAST,
    # strong: the reasoning that engineers and customers read
    "session_turn": Tier.STRONG,
    "l1_tree_node": Tier.STRONG,
    "resolution_note": Tier.STRONG,
    "escalation_package": Tier.STRONG,
    "handoff_assessment": Tier.STRONG,
    "script_draft": Tier.STRONG,
    "flywheel_analysis": Tier.STRONG,
    # used by the foundation's own checks and the benchmark
    "healthcheck": Tier.FAST,
}


def tier_for(action: str) -> Tier:
    try:
        return ACTION_TIERS[action]
    except KeyError:
        raise ValueError(f"Unknown AI action {action!r}: add it to ACTION_TIERS.") from None


def model_for(action: str) -> str:
    return settings.AI_MODEL_FAST if tier_for(action) is Tier.FAST else settings.AI_MODEL_STRONG


# Live before background (issue 17): what an engineer or a tech waits on is interactive; the rest
# is background work, which has its own, smaller budget and runs on the "background" Celery queue.
BACKGROUND_ACTIONS = frozenset({"flywheel_analysis", "handoff_assessment"})


def priority_for(action: str) -> str:
    tier_for(action)  # an unknown action is refused here too
    return "background" if action in BACKGROUND_ACTIONS else "interactive"
