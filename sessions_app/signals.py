"""Signals sessions_app sends so the apps built on it can react without being imported here."""

from django.dispatch import Signal

# Sent inside the turn's transaction: session, step, promotions (the turn's promote_facts).
turn_recorded = Signal()

# Sent once the escalation is committed: session, escalation.
session_escalated = Signal()
