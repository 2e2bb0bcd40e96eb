"""The pool addresses of one Ethereum currency as the watcher matches them: deposits and hot wallet.

The coordinator is the only record. The watcher lists the whole pool once, then each round
only what was added since (and marks it "imported": here that means known to the watcher).
When the pool is larger than one listing, unknown addresses are looked up instead, and the
ones that are not ours are remembered for a while.
"""

from collections import OrderedDict
from collections.abc import Iterable

from pydantic import TypeAdapter

from custody.contract.addresses import AddressBranch, WatchAddress
from custody.watcher.client import CoordinatorClient

LIST_LIMIT = 10_000  # the API's largest page of addresses
MAX_FOREIGN = 200_000
_ADDRESSES = TypeAdapter(list[WatchAddress])


def list_pool(coordinator: CoordinatorClient, currency: str, limit: int) -> list[WatchAddress]:
    """The first `limit` pool addresses of a currency, imported or not."""
    # CoordinatorClient has no plain listing (only unimported and by name): its own GET.
    params = {"currency": currency, "limit": limit}
    return coordinator._get("/v1/addresses", _ADDRESSES, params)


class AddressIndex:
    """address (lower-case hex, as nodes write it) → pool entry, for one currency."""

    def __init__(self, coordinator: CoordinatorClient, currency: str):
        self._coordinator = coordinator
        self._currency = currency
        self._receive: dict[str, WatchAddress] = {}
        self._foreign: OrderedDict[str, None] = OrderedDict()
        self.hot: WatchAddress | None = None
        self._loaded = False
        self._complete = False

    def refresh(self) -> int:
        """Take in pool addresses added since the last call; returns how many were new."""
        if not self._loaded:
            listed = list_pool(self._coordinator, self._currency, LIST_LIMIT)
            self._complete = len(listed) < LIST_LIMIT
            self._add(listed)
            self._loaded = True
        new = self._coordinator.unimported(self._currency, LIST_LIMIT)
        if new:
            self._add(new)
            self._coordinator.mark_imported(self._currency, [a.address for a in new])
        return len(new)

    def _add(self, entries: Iterable[WatchAddress]) -> None:
        for entry in entries:
            key = entry.address.lower()
            self._foreign.pop(key, None)
            if entry.branch is AddressBranch.RECEIVE:
                self._receive[key] = entry
            elif entry.branch is AddressBranch.HOT:
                self.hot = entry

    def deposit_addresses(self, candidates: Iterable[str]) -> dict[str, WatchAddress]:
        """Those of the candidates (any case) that are deposit addresses, keyed lower-case."""
        wanted = {c.lower() for c in candidates}
        if not self._complete:
            self._look_up(wanted - self._receive.keys() - self._foreign.keys())
        return {a: self._receive[a] for a in wanted if a in self._receive}

    def entry(self, address: str) -> WatchAddress | None:
        """The deposit-address entry of one address, if it is one."""
        return self.deposit_addresses([address]).get(address.lower())

    def _look_up(self, missing: set[str]) -> None:
        if not missing:
            return
        found = self._coordinator.lookup(self._currency, sorted(missing))
        self._add(found)
        for address in missing - {f.address.lower() for f in found}:
            self._foreign[address] = None
        while len(self._foreign) > MAX_FOREIGN:
            self._foreign.popitem(last=False)
