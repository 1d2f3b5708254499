"""Shared vocabularies: problem domains and urgency (SPEC §2)."""

from django.db import models


class Domain(models.TextChoices):
    ACTIVE_DIRECTORY = "active_directory", "Active Directory"
    NETWORKING = "networking", "Networking"
    M365 = "m365", "Microsoft 365"
    HARDWARE = "hardware", "Hardware"
    ENDPOINT = "endpoint", "Endpoint"
    VIRTUALIZATION = "virtualization", "Virtualization"
    SECURITY = "security", "Security"
    BACKUP = "backup", "Backup"
    EMAIL = "email", "E-mail"
    PRINTING = "printing", "Printing"
    CLOUD = "cloud", "Cloud"
    OTHER = "other", "Other"


class Urgency(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"
