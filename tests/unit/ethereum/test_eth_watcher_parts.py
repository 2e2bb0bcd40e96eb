"""The watcher's pure parts: fee quotes, nonce books and gaps, node error wordings, the cursor."""

from datetime import UTC, datetime

import pytest

from custody.chains.ethereum_tx import Eip1559Tx, TemplatePayload
from custody.contract.templates import Template, TemplateKind, TemplateStatus
from custody.watcher.chains.ethereum_broadcast import already_known, nonce_too_low
from custody.watcher.chains.ethereum_deposits import ScanCursor
from custody.watcher.chains.ethereum_settings import EthereumNodeConfig
from custody.watcher.chains.ethereum_templates import LiveTx, NonceBook, quote
from custody.watcher.errors import NodeError, WatcherError

GWEI = 10**9
HOT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class FakeNode:
    """Answers the two calls these parts make."""

    def __init__(self, base: int = GWEI, tips: list[int] | None = None, mined: int = 0):
        self.base, self.tips, self.mined = base, tips or [], mined

    def fee_history(self, blocks: int, percentile: int) -> tuple[int, list[int]]:
        return self.base, self.tips

    def nonce(self, address: str, block: str = "latest") -> int:
        return self.mined


def live(nonce: int) -> LiveTx:
    tx = Eip1559Tx(31337, nonce, 1, 2, 21_000, bytes(20), 0)
    body = TemplatePayload(tx, HOT, "m/44'/60'/0'/2/0").encode()
    now = datetime(2024, 1, 1, tzinfo=UTC)
    template = Template(id=f"t{nonce}", currency="ETH", kind=TemplateKind.WITHDRAWAL,
                        status=TemplateStatus.SIGNED, payload=body, payload_hash="x", txid=None,
                        replaces=None, withdrawals=[], signed_payload=None, rejection=None,
                        failure=None, block_hash=None, block_height=None, created_at=now,
                        updated_at=now)
    return LiveTx(template, TemplatePayload.parse(body))


def test_fee_quote_is_bounded() -> None:
    config = EthereumNodeConfig(url="http://node", max_fee_per_gas=50 * GWEI)
    assert quote(FakeNode(10 * GWEI, [0, 2 * GWEI, 3 * GWEI]), config).max_fee == 22 * GWEI
    assert quote(FakeNode(10 * GWEI, []), config).priority == GWEI  # the floor
    assert quote(FakeNode(10 * GWEI, [99 * GWEI]), config).priority == 5 * GWEI  # the cap
    capped = quote(FakeNode(100 * GWEI), config)
    assert capped.max_fee == 50 * GWEI and capped.priority <= capped.max_fee


def test_nonce_book_takes_the_lowest_free_and_sees_gaps() -> None:
    book = NonceBook(FakeNode(mined=5), [live(5), live(7), live(9)])  # type: ignore[arg-type]
    assert book.gaps(HOT) == [6, 8]
    assert book.take(HOT) == 6 and book.take(HOT) == 8 and book.take(HOT) == 10
    assert book.gaps(HOT) == [] and book.busy(HOT)
    assert NonceBook(FakeNode(mined=3), [live(1)]).take(HOT) == 3  # type: ignore[arg-type]


@pytest.mark.parametrize("message", ["already known", "transaction already imported",
                                     "ALREADY_EXISTS: already known", "AlreadyKnown",
                                     "known transaction: 0xab"])
def test_already_known_wordings(message: str) -> None:
    assert already_known(NodeError("eth_sendRawTransaction", -32000, message))


@pytest.mark.parametrize("message", ["nonce too low", "nonce too low: next nonce 5, tx nonce 4",
                                     "OldNonce"])
def test_nonce_too_low_wordings(message: str) -> None:
    error = NodeError("eth_sendRawTransaction", -32000, message)
    assert nonce_too_low(error) and not already_known(error)


def test_cursor_of_another_family_is_refused() -> None:
    cursor = ScanCursor(next=10, blocks=[(9, "0xab")])
    assert ScanCursor.parse(cursor.model_dump_json()) == cursor
    with pytest.raises(WatcherError):
        ScanCursor.parse('{"version":1,"scan_from":null,"blocks":[]}')
