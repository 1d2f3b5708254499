"""Signals of the AI door, so the apps can follow what the AI costs without the door knowing them."""

from django.dispatch import Signal

# Sent after every attempt the door makes is recorded, failed ones included: usage (an AIUsage row,
# whose subject_type and subject_id name what the call was for).
usage_recorded = Signal()
