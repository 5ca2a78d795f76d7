"""Domain errors raised by core/ and mapped to HTTP statuses (and CLI exit codes) at the edges."""


class DomainError(Exception):
    """A rule refused the operation; `detail` is safe to show to the client."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    """Input that passed the schema but names something that does not exist."""

    status_code = 422


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, detail: str, missing: str | None = None) -> None:
        super().__init__(detail)
        self.missing = missing


class AuthenticationFailed(DomainError):
    status_code = 401


class AccountDisabled(DomainError):
    status_code = 403


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidScope(DomainError):
    status_code = 400


class ConfigurationError(Exception):
    """The service cannot start with these settings; the message says what to fix."""
