"""The watcher's HTTP client to the coordinator (watcher role): typed calls under /v1."""

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from custody.contract.addresses import ChangeReservation, ImportedMark, ImportedResult, WatchAddress
from custody.contract.currencies import Currency
from custody.contract.cursors import ChainCursor, CursorUpdate
from custody.contract.deposits import Deposit, DepositReport, DepositReportBatch, DepositState
from custody.contract.errors import ErrorBody
from custody.contract.templates import (
    BroadcastReport,
    ConfirmationReport,
    FailureReport,
    Template,
    TemplateCreate,
    TemplateStatus,
)
from custody.contract.withdrawals import Withdrawal, WithdrawalState
from custody.watcher.errors import CoordinatorError, CoordinatorUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")

_CURRENCIES = TypeAdapter(list[Currency])
_ADDRESSES = TypeAdapter(list[WatchAddress])
_ADDRESS = TypeAdapter(WatchAddress)
_IMPORTED = TypeAdapter(ImportedResult)
_DEPOSITS = TypeAdapter(list[Deposit])
_WITHDRAWALS = TypeAdapter(list[Withdrawal])
_WITHDRAWAL = TypeAdapter(Withdrawal)
_TEMPLATES = TypeAdapter(list[Template])
_TEMPLATE = TypeAdapter(Template)
_CURSOR = TypeAdapter(ChainCursor)

# Addresses named in one lookup: the query string must stay well under the server's 16 KiB
# request-line limit (h11), and bech32 addresses run to 90 characters.
LOOKUP_CHUNK = 100
MAX_BATCH = 1000  # the API's limit for deposit reports and imported marks
# The API's largest pages (keyset paging with `after`; a shorter page is the last one).
DEPOSITS_PAGE = 1000
TEMPLATES_PAGE = 500
ADDRESSES_PAGE = 10_000


class CoordinatorClient:
    """Calls the coordinator. Writes carry their natural key, so a retry is always safe;
    only the change reservation, which has none, sends an Idempotency-Key."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "custody-watcher"},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def currencies(self) -> list[Currency]:
        """The currencies the coordinator lists."""
        return self._get("/v1/currencies", _CURRENCIES)

    def unimported(self, currency: str, limit: int) -> list[WatchAddress]:
        """The first `limit` pool addresses the node does not watch yet, oldest first (one page:
        the caller marks them imported and asks again)."""
        params = {"currency": currency, "imported": "false", "limit": limit}
        return self._get("/v1/addresses", _ADDRESSES, params)

    def addresses(
        self, currency: str, imported: bool | None = None, *, page: int = ADDRESSES_PAGE
    ) -> list[WatchAddress]:
        """Every pool address of a currency (or only the imported or unimported ones), in pool
        order, read page by page."""
        params: dict[str, str | int] = {"currency": currency}
        if imported is not None:
            params["imported"] = "true" if imported else "false"
        pages = self._pages("/v1/addresses", _ADDRESSES, params, page, _address_key)
        return [a for p in pages for a in p]

    def lookup(self, currency: str, addresses: Sequence[str]) -> list[WatchAddress]:
        """Pool entries (key, path, fingerprint, branch) of the named addresses that are ours."""
        found: list[WatchAddress] = []
        unique = sorted(set(addresses))
        for at in range(0, len(unique), LOOKUP_CHUNK):
            chunk = unique[at : at + LOOKUP_CHUNK]
            params: list[tuple[str, str | int]] = [("currency", currency), ("limit", len(chunk))]
            params += [("address", a) for a in chunk]
            page: list[WatchAddress] = self._get("/v1/addresses", _ADDRESSES, params)
            found += page
        return found

    def mark_imported(self, currency: str, addresses: Sequence[str]) -> int:
        """Tell the coordinator these addresses are in the node."""
        marked = 0
        for at in range(0, len(addresses), MAX_BATCH):
            body = ImportedMark(currency=currency, addresses=list(addresses[at : at + MAX_BATCH]))
            marked += self._post("/v1/addresses/imported", body, _IMPORTED).marked
        return marked

    def reserve_change(self, currency: str, key: str) -> WatchAddress:
        """A change address, the same one for every retry with the same key."""
        body = ChangeReservation(currency=currency)
        return self._post("/v1/addresses/change", body, _ADDRESS, key=key)

    def report_deposits(self, reports: Sequence[DepositReport]) -> list[Deposit]:
        """Upsert deposit reports (at most MAX_BATCH per request)."""
        return self._post("/v1/deposits", DepositReportBatch(deposits=list(reports)), _DEPOSITS)

    def deposits(
        self, currency: str, state: DepositState, *, page: int = DEPOSITS_PAGE
    ) -> list[Deposit]:
        """Every deposit in one state, oldest first, read page by page."""
        return [d for p in self.deposit_pages(currency, state, page=page) for d in p]

    def deposit_pages(
        self,
        currency: str,
        state: DepositState,
        *,
        newest_first: bool = False,
        page: int = DEPOSITS_PAGE,
    ) -> Iterator[list[Deposit]]:
        """Deposits in one state, a page at a time (oldest first unless asked); the caller may
        stop early, and the next page is only asked for when it wants one."""
        params: dict[str, str | int] = {
            "currency": currency,
            "state": state.value,
            "order": "newest" if newest_first else "oldest",
        }
        return self._pages("/v1/deposits", _DEPOSITS, params, page, _id_key)

    def withdrawals(self, currency: str, state: WithdrawalState, limit: int) -> list[Withdrawal]:
        """Withdrawals in one state, oldest first."""
        params = {"currency": currency, "state": state.value, "limit": limit}
        return self._get("/v1/withdrawals", _WITHDRAWALS, params)

    def withdrawal(self, withdrawal_id: str) -> Withdrawal:
        """One withdrawal."""
        return self._get(f"/v1/withdrawals/{withdrawal_id}", _WITHDRAWAL)

    def templates(
        self, currency: str, status: TemplateStatus, *, page: int = TEMPLATES_PAGE
    ) -> list[Template]:
        """Every template in one status, oldest first, read page by page."""
        params: dict[str, str | int] = {"currency": currency, "status": status.value}
        pages = self._pages("/v1/templates", _TEMPLATES, params, page, _id_key)
        return [t for p in pages for t in p]

    def template(self, template_id: str) -> Template:
        """One template."""
        return self._get(f"/v1/templates/{template_id}", _TEMPLATE)

    def create_template(self, body: TemplateCreate) -> Template:
        """Store an unsigned template; the same payload again answers the same template."""
        return self._post("/v1/templates", body, _TEMPLATE)

    def report_broadcast(self, template_id: str, txid: str) -> Template:
        """The node has the transaction."""
        body = BroadcastReport(txid=txid)
        return self._post(f"/v1/templates/{template_id}/broadcast", body, _TEMPLATE)

    def report_confirmation(self, template_id: str, report: ConfirmationReport) -> Template:
        """The transaction is buried deep enough."""
        return self._post(f"/v1/templates/{template_id}/confirmation", report, _TEMPLATE)

    def report_failure(self, template_id: str, report: FailureReport) -> Template:
        """The transaction can never confirm."""
        return self._post(f"/v1/templates/{template_id}/failure", report, _TEMPLATE)

    def cursor(self, currency: str) -> str | None:
        """The stored scan position, or None before the first one."""
        try:
            return self._get(f"/v1/cursors/{currency}", _CURSOR).cursor
        except CoordinatorError as e:
            if e.status == 404:
                return None
            raise

    def put_cursor(self, currency: str, cursor: str) -> None:
        """Store the scan position."""
        body = CursorUpdate(cursor=cursor).model_dump_json().encode()
        self._send("PUT", f"/v1/cursors/{currency}", content=body, headers=_JSON)

    def _get(self, path: str, adapter: TypeAdapter[T], params: Any = None) -> T:
        return _parse(self._send("GET", path, params=params), adapter)

    def _pages(
        self,
        path: str,
        adapter: TypeAdapter[list[P]],
        params: dict[str, str | int],
        limit: int,
        key: Callable[[P], str],
    ) -> Iterator[list[P]]:
        """Keyset paging: each page continues `after` the last item of the one before; a page
        shorter than `limit` is the last. Empty pages are not yielded."""
        after: str | None = None
        while True:
            query = {**params, "limit": limit}
            if after is not None:
                query["after"] = after
            page = self._get(path, adapter, query)
            if page:
                yield page
            if len(page) < limit:
                return
            last = key(page[-1])
            if last == after:  # a server that ignores `after` would loop forever
                raise CoordinatorUnavailable(f"coordinator repeated a page of {path} after {last}")
            after = last

    def _post(
        self, path: str, body: BaseModel, adapter: TypeAdapter[T], key: str | None = None
    ) -> T:
        headers = dict(_JSON)
        if key is not None:
            headers["Idempotency-Key"] = key
        content = body.model_dump_json().encode()
        return _parse(self._send("POST", path, content=content, headers=headers), adapter)

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise CoordinatorUnavailable(
                f"coordinator unreachable ({method} {path}): {type(e).__name__}"
            ) from e
        if response.status_code >= 500:
            raise CoordinatorUnavailable(
                f"coordinator failed {method} {path}: HTTP {response.status_code}"
            )
        if response.status_code >= 400:
            body = _error_body(response)
            code = None if body is None else str(body.error.code)
            field = None if body is None else body.error.field
            text = response.reason_phrase if body is None else f"{code}: {body.error.message}"
            raise CoordinatorError(
                f"coordinator refused {method} {path}: {response.status_code} {text}",
                status=response.status_code,
                code=code,
                field=field,
            )
        return response


_JSON = {"Content-Type": "application/json"}


def _id_key(item: Deposit | Template) -> str:
    return item.id


def _address_key(item: WatchAddress) -> str:
    return item.address


def _parse(response: httpx.Response, adapter: TypeAdapter[T]) -> T:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as e:
        raise CoordinatorUnavailable(
            f"unexpected answer from the coordinator ({response.request.url.path}): "
            f"{e.error_count()} validation error(s)"
        ) from e


def _error_body(response: httpx.Response) -> ErrorBody | None:
    try:
        return ErrorBody.model_validate_json(response.content)
    except ValidationError:
        return None
