"""An in-memory stand-in for the coordinator's signer endpoints, for answers the real coordinator
does not give in normal operation: a pool that lost addresses below its total, a currency listed
on another network than the signer's policy, a 409 because another signer answered first.

Everything else the signer's tests take from the real coordinator (`tests.support.server.serve`
on the `runtime` fixture); this fake serves only the loop's unit tests of those odd answers.

It answers as the API contract says (bearer token, JSON bodies, 409 for a second answer) and
records every request, in-process through `transport()`."""

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from custody.contract.addresses import AddressBatch, AddressBranch, PoolAddress
from custody.contract.currencies import ChainFamily, Currency
from custody.contract.templates import Rejection, SignedTransaction, Template, TemplateStatus

LTC = Currency(code="LTC", family=ChainFamily.BITCOIN, network="ltc-regtest", decimals=8,
               confirmations=1)


@dataclass
class FakeCoordinator:
    """The coordinator as the signer sees it; `fail` makes every request a 503."""

    token: str = "signer-token"
    currencies: list[Currency] = field(default_factory=lambda: [LTC])
    pool: dict[str, PoolAddress] = field(default_factory=dict)
    templates: dict[str, Template] = field(default_factory=dict)
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, template: Template) -> None:
        """Queue an unsigned template."""
        self.templates[template.id] = template

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the coordinator would."""
        with self.lock:
            body = request.read()
            self.requests.append((request.method, request.url.path, body))
            if self.fail:
                return _error(503, "illegal_state", "coordinator is down")
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "unauthenticated", "bad token")
            return self._route(request.method, request.url.path, request.url.params, body)

    def _route(self, method: str, path: str, params: Any, body: bytes) -> httpx.Response:
        if (method, path) == ("GET", "/v1/currencies"):
            return _json([c.model_dump(mode="json") for c in self.currencies])
        if (method, path) == ("GET", "/v1/addresses/pool"):
            return _json(self._levels())
        if (method, path) == ("POST", "/v1/addresses"):
            return self._add_addresses(AddressBatch.model_validate_json(body))
        if (method, path) == ("GET", "/v1/templates"):
            wanted = [t for t in self.templates.values() if t.status == params.get("status")]
            return _json([t.model_dump(mode="json") for t in wanted[: int(params["limit"])]])
        parts = path.split("/")
        if method == "POST" and len(parts) == 5 and parts[:3] == ["", "v1", "templates"]:
            return self._answer(parts[3], parts[4], body)
        return _error(404, "not_found", f"no route {method} {path}")

    def _levels(self) -> list[dict[str, Any]]:
        counts: dict[tuple[str, AddressBranch], int] = {}
        for entry in self.pool.values():
            key = (entry.currency, entry.branch)
            counts[key] = counts.get(key, 0) + 1
        return [
            {"currency": c, "branch": str(b), "unused": n, "total": n}
            for (c, b), n in counts.items()
        ]

    def _add_addresses(self, batch: AddressBatch) -> httpx.Response:
        added = 0
        for entry in batch.addresses:
            known = self.pool.get(entry.address)
            if known is not None and known != entry:
                return _error(409, "conflict", f"{entry.address} is known with other data")
            added += known is None
            self.pool[entry.address] = entry
        return _json({"added": added, "existing": len(batch.addresses) - added})

    def _answer(self, template_id: str, kind: str, body: bytes) -> httpx.Response:
        template = self.templates.get(template_id)
        if template is None:
            return _error(404, "unknown_template", template_id)
        if kind == "signature":
            signed = SignedTransaction.model_validate_json(body)
            if template.status is TemplateStatus.SIGNED:
                if template.signed_payload == signed.signed_payload:
                    return _json(template.model_dump(mode="json"))
                return _error(409, "conflict", "already signed differently")
            update = {"status": TemplateStatus.SIGNED, "signed_payload": signed.signed_payload}
        elif kind == "rejection":
            update = {"status": TemplateStatus.REJECTED,
                      "rejection": Rejection.model_validate_json(body)}
        else:
            return _error(404, "not_found", kind)
        if template.status is not TemplateStatus.UNSIGNED:
            return _error(409, "illegal_state", f"template is {template.status}")
        self.templates[template_id] = template.model_copy(update=update)
        return _json(self.templates[template_id].model_dump(mode="json"))

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering from this fake, no socket involved."""
        return httpx.MockTransport(self.handle)


def _json(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(data).encode(),
                          headers={"content-type": "application/json"})


def _error(status: int, code: str, message: str) -> httpx.Response:
    return _json({"error": {"code": code, "message": message, "field": None}}, status)
