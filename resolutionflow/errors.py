"""Domain errors raised by services and selectors; views map them to responses in one place
(`resolutionflow.middleware.DomainErrorMiddleware`)."""


class DomainError(Exception):
    """Base of every error a service may raise on purpose. `message` is safe to show."""

    status_code = 400

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message or self.default_message
        self.field = field

    default_message = "The request could not be completed."


class NotFound(DomainError):
    """Missing, or belongs to another account: the two must look the same."""

    status_code = 404
    default_message = "Not found."


class PermissionDenied(DomainError):
    status_code = 403
    default_message = "You do not have permission to do that."


class InvalidInput(DomainError):
    status_code = 400
    default_message = "That input is not valid."


class Conflict(DomainError):
    """The object is not in a state that allows the change (e.g. decided twice)."""

    status_code = 409
    default_message = "That change conflicts with the current state."


class ExternalServiceError(DomainError):
    """A service outside the app (PSA, AI) failed; retrying may help."""

    status_code = 503
    default_message = "An external service is unavailable. Try again."
