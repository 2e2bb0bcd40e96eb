"""The demo's side of the coordinator's API: the exchange (signed intents) and its operators."""

from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from custody.contract.intent import approval_bytes, intent_bytes, public_key_hex, sign
from custody.contract.withdrawals import WithdrawalIntent
from demo.processes import DemoError


@dataclass
class Keys:
    """Fresh Ed25519 keys for this run: the exchange's intent key and three operators'.
    Only their public halves are written anywhere (config and policy)."""

    exchange: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    operators: list[Ed25519PrivateKey] = field(
        default_factory=lambda: [Ed25519PrivateKey.generate() for _ in range(3)]
    )

    @property
    def exchange_public(self) -> str:
        """The exchange's public key, hex."""
        return public_key_hex(self.exchange)

    @property
    def operator_publics(self) -> list[str]:
        """The operators' public keys, hex."""
        return [public_key_hex(k) for k in self.operators]


@dataclass
class Withdrawal:
    """A withdrawal the demo requested: its id and what it should pay."""

    id: str
    currency: str
    amount: int
    destination: str
    approvals: int


def posted(withdrawals: list[Withdrawal]) -> str:
    """A progress line: how many intents were posted and what their tiers needed."""
    tiered = [w for w in withdrawals if w.approvals]
    note = "all under the auto-approval limit"
    if tiered:
        needs = " and ".join(str(w.approvals) for w in tiered)
        note = f"{len(tiered)} above the auto-approval limit got {needs} operator approval(s)"
    return f"{len(withdrawals)} withdrawal intents signed by the exchange and posted; {note}"


class Api:
    """HTTP calls to the coordinator, each with the token of the role that makes it."""

    def __init__(self, base_url: str, tokens: dict[str, str], keys: Keys) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.tokens = tokens
        self.keys = keys

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request as `role` (exchange, operator)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, role: str, path: str, **params: Any) -> Any:
        """GET as `role`; the decoded JSON, or DemoError."""
        r = self.call(role, "GET", path, params=params)
        if r.status_code != 200:
            raise DemoError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
        return r.json()

    def healthy(self) -> bool:
        """The coordinator answers /health."""
        try:
            return self.http.get("/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    # the exchange ----------------------------------------------------------------------------

    def deposit_address(self, user: str, currency: str) -> str | None:
        """The user's deposit address; None while the signer is still filling the pool."""
        body = {"user_id": user, "currency": currency}
        r = self.call("exchange", "POST", "/v1/deposit-addresses", json=body)
        return str(r.json()["address"]) if r.status_code == 200 else None

    def balance(self, user: str, currency: str) -> tuple[int, int]:
        """(available, held) of a user in base units."""
        rows = [b for b in self.get("exchange", f"/v1/balances/{user}")
                if b["currency"] == currency]
        return (int(rows[0]["available"]), int(rows[0]["held"])) if rows else (0, 0)

    def withdraw(self, user: str, currency: str, amount: int, destination: str,
                 request_id: str) -> Withdrawal:
        """Post an intent signed with the exchange key, then the operator approvals its tier
        needs (as many as the coordinator says, each by another operator)."""
        intent = WithdrawalIntent(request_id=request_id, user_id=user, currency=currency,
                                  amount=amount, destination=destination)
        body = {"intent": intent.model_dump(mode="json"),
                "signature": sign(self.keys.exchange, intent_bytes(intent))}
        r = self.call("exchange", "POST", "/v1/withdrawals", json=body)
        if r.status_code != 200:
            raise DemoError(f"withdrawal {request_id} refused: {r.status_code} {r.text[:300]}")
        answer = r.json()
        required = int(answer["approvals_required"])
        for key in self.keys.operators[:required]:
            approval = {"operator_key": public_key_hex(key),
                        "signature": sign(key, approval_bytes(intent))}
            path = f"/v1/withdrawals/{answer['id']}/approvals"
            a = self.call("operator", "POST", path, json=approval)
            if a.status_code != 200:
                raise DemoError(f"approval of {request_id} refused: {a.status_code} {a.text}")
        return Withdrawal(str(answer["id"]), currency, amount, destination, required)

    def withdrawal_states(self, withdrawals: list[Withdrawal]) -> dict[str, str]:
        """Withdrawal id → state."""
        return {w.id: str(self.get("exchange", f"/v1/withdrawals/{w.id}")["state"])
                for w in withdrawals}

    def wait_state(self, withdrawals: list[Withdrawal], state: str) -> bool:
        """True once every withdrawal is in `state`; DemoError if one failed or was cancelled."""
        states = self.withdrawal_states(withdrawals)
        for wid, current in states.items():
            if current in ("failed", "cancelled") and state != current:
                row = self.get("exchange", f"/v1/withdrawals/{wid}")
                raise DemoError(f"withdrawal {wid} {current}: {row['failure_code']} "
                                f"{row['failure_reason']}")
        return set(states.values()) == {state}

    # reading, as the operator ----------------------------------------------------------------

    def deposits(self, currency: str, state: str | None = None) -> list[dict[str, Any]]:
        """Deposits of a currency (newest first)."""
        params: dict[str, Any] = {"currency": currency, "limit": 1000}
        if state is not None:
            params["state"] = state
        return list(self.get("operator", "/v1/deposits", **params))

    def withdrawals(self, currency: str, state: str | None = None) -> list[dict[str, Any]]:
        """Withdrawals of a currency (oldest first)."""
        params: dict[str, Any] = {"currency": currency, "limit": 1000}
        if state is not None:
            params["state"] = state
        return list(self.get("operator", "/v1/withdrawals", **params))

    def templates(self, currency: str, status: str | None = None) -> list[dict[str, Any]]:
        """Transaction templates of a currency (oldest first)."""
        params: dict[str, Any] = {"currency": currency, "limit": 500}
        if status is not None:
            params["status"] = status
        return list(self.get("operator", "/v1/templates", **params))

    def pool(self, currency: str) -> list[dict[str, Any]]:
        """Every pool address of a currency (deposit, change, hot)."""
        return list(self.get("operator", "/v1/addresses", currency=currency, limit=1000))

    def fees_charged(self, currency: str) -> int:
        """Withdrawal fees of the confirmed withdrawals: the exchange's revenue."""
        return sum(int(w["fee"]) for w in self.withdrawals(currency, "confirmed"))

    def users_total(self, users: list[str], currency: str) -> int:
        """What the users hold on the ledger: available plus held."""
        return sum(sum(self.balance(u, currency)) for u in users)
