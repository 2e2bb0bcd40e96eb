"""The watcher's one root exception and the errors it translates node and HTTP failures into."""


class WatcherError(Exception):
    """Root of every error the watcher raises on purpose; a step that raises it is retried."""


class SettingsError(WatcherError):
    """The watcher's settings or its config file are missing or invalid."""


class NodeUnavailable(WatcherError):
    """The node could not be reached (down, restarting, warming up) after bounded retries."""


class NodeError(WatcherError):
    """The node answered a JSON-RPC call with an error: its code and message, as it gave them."""

    def __init__(self, method: str, code: int, message: str):
        super().__init__(f"{method}: node error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message


class CoordinatorUnavailable(WatcherError):
    """The coordinator could not be reached or answered 5xx; the outcome of a write is unknown."""


class CoordinatorError(WatcherError):
    """The coordinator refused a request (4xx) with a stable error code and maybe a field."""

    def __init__(self, message: str, *, status: int, code: str | None, field: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


class ChainMismatch(WatcherError):
    """The node or the coordinator is on another chain or network than the config says."""


class TemplateError(WatcherError):
    """A transaction the watcher built does not meet what the signer needs (e.g. no key origin)."""
