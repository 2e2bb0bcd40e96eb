"""An in-process coordinator on a real database, and clients that call it with each role's token."""

from typing import Any

import httpx
from fastapi.testclient import TestClient

from custody.contract.intent import public_key_hex
from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.auth import Role, create_token
from custody.coordinator.config import CoordinatorConfig, parse_config
from custody.coordinator.runtime import Runtime
from tests.support.keys import EXCHANGE, OPERATORS, ltc_regtest_address, signed_intent

BIG = 2**200  # far past int64: amounts must survive the database exactly


def test_config() -> CoordinatorConfig:
    """Currencies as an exchange would list them on regtest and anvil."""
    return parse_config(
        {
            "exchange_public_key": public_key_hex(EXCHANGE),
            "operators": [
                {"name": f"op{i}", "public_key": public_key_hex(k)} for i, k in enumerate(OPERATORS)
            ],
            "currencies": [
                {
                    "code": "LTC",
                    "family": "bitcoin",
                    "network": "ltc-regtest",
                    "decimals": 8,
                    "confirmations": 3,
                    "withdrawal_fee": 1000,
                    "auto_approve_limit": 100_000_000,
                    "approval_tiers": [
                        {"above": "100000000", "required": 1},
                        {"above": "1000000000", "required": 2},
                    ],
                },
                {
                    "code": "ETH",
                    "family": "ethereum",
                    "network": "eth-anvil",
                    "decimals": 18,
                    "confirmations": 2,
                    "withdrawal_fee": "10000000000000",
                    "auto_approve_limit": str(BIG * 4),
                },
            ],
        }
    )


class RoleClient:
    """Calls the API with one role's bearer token."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET with query parameters."""
        return self.client.get(path, params=params, headers=self.headers)

    def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        """POST a JSON body, with an Idempotency-Key when given."""
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=body, headers=headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        """PUT a JSON body."""
        return self.client.put(path, json=body, headers=self.headers)


class Api:
    """The coordinator under test with one client per role."""

    def __init__(self, runtime: Runtime, client: TestClient) -> None:
        self.runtime = runtime
        self.client = client
        with runtime.sessions.begin() as session:
            tokens = {role: create_token(session, role, f"test-{role.value}") for role in Role}
        self.tokens = tokens
        self.exchange = RoleClient(client, tokens[Role.EXCHANGE])
        self.watcher = RoleClient(client, tokens[Role.WATCHER])
        self.signer = RoleClient(client, tokens[Role.SIGNER])
        self.operator = RoleClient(client, tokens[Role.OPERATOR])

    def as_role(self, role: Role) -> RoleClient:
        """The client of `role`."""
        return RoleClient(self.client, self.tokens[role])

    # Scenario steps shared by many tests ------------------------------------------------

    def fill_pool(
        self, count: int = 5, currency: str = "LTC", branch: str = "receive"
    ) -> list[str]:
        """The signer posts `count` addresses; returns them."""
        offset = 1000 if branch == "change" else 0
        items = []
        for i in range(offset, offset + count):
            address, pub = ltc_regtest_address(i)
            leg = 1 if branch == "change" else 0
            items.append(
                {
                    "currency": currency,
                    "address": address,
                    "public_key": pub,
                    "branch": branch,
                    "derivation_path": f"m/84'/1'/0'/{leg}/{i - offset}",
                }
            )
        r = self.signer.post("/v1/addresses", {"addresses": items})
        assert r.status_code == 200, r.text
        return [i["address"] for i in items]

    def deposit_address(self, user: str, currency: str = "LTC") -> str:
        """The user's deposit address."""
        r = self.exchange.post("/v1/deposit-addresses", {"user_id": user, "currency": currency})
        assert r.status_code == 200, r.text
        return str(r.json()["address"])

    def credit(
        self, user: str, amount: int, txid: str = "aa" * 32, currency: str = "LTC"
    ) -> dict[str, Any]:
        """Report a deposit to the user deep enough to be credited."""
        report = {
            "currency": currency,
            "txid": txid,
            "output_index": 0,
            "address": self.deposit_address(user, currency),
            "amount": str(amount),
            "block_hash": "bb" * 32,
            "block_height": 100,
            "confirmations": 6,
        }
        r = self.watcher.post("/v1/deposits", {"deposits": [report]})
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()[0]
        assert result["state"] == "credited"
        return result

    def withdraw(self, intent: WithdrawalIntent) -> httpx.Response:
        """The exchange requests a signed withdrawal."""
        return self.exchange.post("/v1/withdrawals", signed_intent(intent))

    def balance(self, user: str, currency: str = "LTC") -> tuple[int, int]:
        """(available, held) of the user."""
        r = self.exchange.get(f"/v1/balances/{user}")
        assert r.status_code == 200, r.text
        row = next(b for b in r.json() if b["currency"] == currency)
        return int(row["available"]), int(row["held"])
