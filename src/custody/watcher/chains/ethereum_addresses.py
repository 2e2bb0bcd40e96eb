"""The pool addresses of one Ethereum currency as the watcher matches them: deposits and hot wallet.

The coordinator is the only record. The watcher lists the whole pool once (page by page), then
each round every address added since (and marks it "imported": here that means known to the
watcher).
"""

from collections.abc import Iterable

from custody.contract.addresses import AddressBranch, WatchAddress
from custody.watcher.client import CoordinatorClient


class AddressIndex:
    """address (lower-case hex, as nodes write it) → pool entry, for one currency."""

    def __init__(self, coordinator: CoordinatorClient, currency: str):
        self._coordinator = coordinator
        self._currency = currency
        self._receive: dict[str, WatchAddress] = {}
        self.hot: WatchAddress | None = None
        self._loaded = False

    def refresh(self) -> int:
        """Take in pool addresses added since the last call; returns how many were new."""
        if not self._loaded:
            self._add(self._coordinator.addresses(self._currency))
            self._loaded = True
        new = self._coordinator.addresses(self._currency, imported=False)
        if new:
            self._add(new)
            self._coordinator.mark_imported(self._currency, [a.address for a in new])
        return len(new)

    def _add(self, entries: Iterable[WatchAddress]) -> None:
        for entry in entries:
            key = entry.address.lower()
            if entry.branch is AddressBranch.RECEIVE:
                self._receive[key] = entry
            elif entry.branch is AddressBranch.HOT:
                self.hot = entry

    def deposit_addresses(self, candidates: Iterable[str]) -> dict[str, WatchAddress]:
        """Those of the candidates (any case) that are deposit addresses, keyed lower-case."""
        wanted = {c.lower() for c in candidates}
        return {a: self._receive[a] for a in wanted if a in self._receive}

    def entry(self, address: str) -> WatchAddress | None:
        """The deposit-address entry of one address, if it is one."""
        return self.deposit_addresses([address]).get(address.lower())
