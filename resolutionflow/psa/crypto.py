"""Secrets at rest (SPEC §9): the PSA private key is stored Fernet-encrypted behind MultiFernet.
The keys come from settings.PSA_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a new
key goes first and `manage.py psa_rotate_keys` re-encrypts every stored secret with it."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from resolutionflow.errors import ExternalServiceError


class SecretUnreadable(ExternalServiceError):
    default_message = (
        "The stored PSA key cannot be decrypted with the server's PSA_ENCRYPTION_KEYS: enter the private key again."
    )


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in settings.PSA_ENCRYPTION_KEYS])


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None


def secret_rotate(token: str) -> str:
    """The same secret, encrypted with the first key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable() from None
