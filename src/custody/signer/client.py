"""The signer's HTTP client to the coordinator: outbound requests only, never a listening socket."""

import hashlib
import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from custody.contract.addresses import AddressBatch, AddressBatchResult, PoolLevel
from custody.contract.currencies import Currency
from custody.contract.errors import ErrorBody
from custody.contract.templates import Rejection, SignedTransaction, Template
from custody.signer.errors import CoordinatorError

log = logging.getLogger(__name__)

T = TypeVar("T")

_CURRENCIES = TypeAdapter(list[Currency])
_LEVELS = TypeAdapter(list[PoolLevel])
_TEMPLATES = TypeAdapter(list[Template])
_TEMPLATE = TypeAdapter(Template)
_BATCH_RESULT = TypeAdapter(AddressBatchResult)


class CoordinatorClient:
    """GETs work and POSTs answers with the signer role's bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "custody-signer"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "CoordinatorClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def currencies(self) -> list[Currency]:
        """The currencies the coordinator lists."""
        return self._get("/v1/currencies", _CURRENCIES)

    def pool_levels(self) -> list[PoolLevel]:
        """Unused and total pool addresses per currency and branch."""
        return self._get("/v1/addresses/pool", _LEVELS)

    def post_addresses(self, batch: AddressBatch) -> AddressBatchResult:
        """Add derived addresses to the pool; posting the same batch again changes nothing."""
        result = self._post("/v1/addresses", batch, _BATCH_RESULT)
        if result is None:
            raise CoordinatorError("the coordinator refused an address batch (409)", status=409)
        return result

    def unsigned_templates(self, limit: int) -> list[Template]:
        """Templates waiting for a signature, oldest first."""
        return self._get("/v1/templates", _TEMPLATES, params={"status": "unsigned", "limit": limit})

    def post_signature(self, template_id: str, signed: SignedTransaction) -> Template | None:
        """Hand in a signed transaction; None when the coordinator already has another answer."""
        return self._post(f"/v1/templates/{template_id}/signature", signed, _TEMPLATE)

    def post_rejection(self, template_id: str, rejection: Rejection) -> Template | None:
        """Report a refused template; None when the coordinator already has another answer."""
        return self._post(f"/v1/templates/{template_id}/rejection", rejection, _TEMPLATE)

    def _get(self, path: str, adapter: TypeAdapter[T], params: dict[str, Any] | None = None) -> T:
        response = self._send("GET", path, params=params)
        return _parse(response, adapter)

    def _post(self, path: str, body: BaseModel, adapter: TypeAdapter[T]) -> T | None:
        content = body.model_dump_json().encode("utf-8")
        # A key derived from the request itself: a retry after a lost answer is the same
        # request, and the coordinator returns its first answer.
        key = hashlib.sha256(path.encode() + b"\n" + content).hexdigest()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        response = self._send("POST", path, content=content, headers=headers)
        if response.status_code == 409:
            log.warning("coordinator answered 409 to POST %s: %s", path, _error_text(response))
            return None
        return _parse(response, adapter)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise CoordinatorError(
                f"coordinator unreachable ({method} {path}): {type(e).__name__}"
            ) from e
        if response.status_code >= 400 and response.status_code != 409:
            raise CoordinatorError(
                f"coordinator refused {method} {path}: {response.status_code} "
                f"{_error_text(response)}",
                status=response.status_code,
                code=_error_code(response),
            )
        return response


def _parse(response: httpx.Response, adapter: TypeAdapter[T]) -> T:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as e:
        raise CoordinatorError(
            f"unexpected answer from the coordinator ({response.request.url.path}): "
            f"{e.error_count()} validation error(s)"
        ) from e


def _error_body(response: httpx.Response) -> ErrorBody | None:
    try:
        return ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return None


def _error_code(response: httpx.Response) -> str | None:
    body = _error_body(response)
    return None if body is None else str(body.error.code)


def _error_text(response: httpx.Response) -> str:
    body = _error_body(response)
    if body is None:
        return response.reason_phrase
    return f"{body.error.code}: {body.error.message}"
