"""The FastAPI application: routes under /v1, errors as stable codes, a body size limit."""

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import custody
from custody.contract.errors import ErrorBody, ErrorCode, ErrorDetail
from custody.coordinator.config import CoordinatorConfig, load_config
from custody.coordinator.console import routes as console
from custody.coordinator.db.engine import make_engine, make_sessionmaker
from custody.coordinator.db.migrate import upgrade
from custody.coordinator.errors import CoordinatorError
from custody.coordinator.routes import (
    addresses,
    balances,
    currencies,
    cursors,
    deposits,
    templates,
    withdrawals,
)
from custody.coordinator.routes.strict_json import strict_amounts
from custody.coordinator.runtime import Runtime
from custody.coordinator.settings import CoordinatorSettings

log = logging.getLogger(__name__)


def build_runtime(
    settings: CoordinatorSettings, config: CoordinatorConfig | None = None
) -> Runtime:
    """Open the database (migrating it if configured to) and load the config."""
    if settings.migrate_on_start:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        config=config or load_config(settings.config_file),
        engine=engine,
        sessions=make_sessionmaker(engine),
    )


def create_app(runtime: Runtime) -> FastAPI:
    """The coordinator's HTTP API, serving `runtime`."""
    app = api_app(runtime.settings.max_body_bytes)
    app.state.runtime = runtime
    return app


def api_app(max_body_bytes: int) -> FastAPI:
    """The routes, handlers and middleware, without a runtime (enough for the OpenAPI document)."""
    app = FastAPI(
        title="custody coordinator",
        version=custody.__version__,
        description="The custody stack's API between the exchange, the watcher and the signer.",
    )
    for module in (currencies, addresses, deposits, withdrawals, templates, cursors, balances):
        app.include_router(module.router, prefix="/v1", dependencies=[Depends(strict_amounts)])
    app.include_router(console.router, include_in_schema=False)
    app.add_exception_handler(CoordinatorError, _coordinator_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    return app


def _json(status: int, code: ErrorCode, message: str, field: str | None = None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


async def _coordinator_error(_request: Request, exc: CoordinatorError) -> JSONResponse:
    return JSONResponse(status_code=exc.status, content=exc.body().model_dump(mode="json"))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    first: dict[str, Any] = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    field = ".".join(loc) or None
    if first.get("type") == "json_invalid":
        return _json(422, ErrorCode.INVALID_REQUEST, "body is not valid JSON", None)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    code = (
        ErrorCode.INVALID_AMOUNT
        if loc and loc[-1] in ("amount", "fee")
        else ErrorCode.INVALID_REQUEST
    )
    return _json(422, code, f"{field}: {message}" if field else message, field)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID_REQUEST
    return _json(exc.status_code, code, str(exc.detail))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # A bug, never a client error: log it with its traceback here, answer without one.
    log.exception("unexpected error", exc_info=exc)
    return _json(500, ErrorCode.INTERNAL, "internal error; the operators have the details")


class BodyLimit:
    """Refuse bodies larger than the limit (413) before any of them is parsed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # Chunked body of unknown length: read it (up to the limit) before the app sees it,
        # so an oversized one is refused whole rather than half-parsed.
        body, too_large = await self._read_limited(receive)
        if too_large:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_limited(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = _json(
            413, ErrorCode.BODY_TOO_LARGE, f"request body is larger than {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
