"""Re-encrypt every stored PSA private key with the first key of PSA_ENCRYPTION_KEYS.

Rotation: put the new key first in PSA_ENCRYPTION_KEYS (keep the old one after it), run this
command, then remove the old key."""

from django.core.management.base import BaseCommand, CommandError

from resolutionflow.errors import ExternalServiceError
from resolutionflow.psa.services import psa_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt every stored PSA private key with the first PSA_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        try:
            count = psa_keys_rotate()
        except ExternalServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Re-encrypted {count} PSA connection key(s) with the first PSA_ENCRYPTION_KEYS key.")
