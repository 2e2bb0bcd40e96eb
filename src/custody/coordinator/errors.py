"""The coordinator's one root exception: a stable code, an HTTP status and the field to blame."""

from custody.contract.errors import ErrorBody, ErrorCode, ErrorDetail


class CoordinatorError(Exception):
    """Any refusal the API answers with a 4xx; nothing was written when it is raised."""

    status = 400

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def body(self) -> ErrorBody:
        """The JSON error body."""
        return ErrorBody(error=ErrorDetail(code=self.code, message=self.message, field=self.field))


class BadRequest(CoordinatorError):
    """The request is malformed or names something invalid (422)."""

    status = 422


class Unauthenticated(CoordinatorError):
    """No valid bearer token (401)."""

    status = 401


class Forbidden(CoordinatorError):
    """The caller's role may not take this step (403)."""

    status = 403


class NotFound(CoordinatorError):
    """The named object does not exist (404)."""

    status = 404


class Conflict(CoordinatorError):
    """The request clashes with the current state (409)."""

    status = 409


class TooLarge(CoordinatorError):
    """The body is larger than the configured limit (413)."""

    status = 413
