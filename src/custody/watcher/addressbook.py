"""Pool addresses the watcher has met, looked up in the coordinator once and then remembered."""

from collections.abc import Iterable

from custody.contract.addresses import AddressBranch, WatchAddress
from custody.watcher.client import CoordinatorClient

# Past this many entries the cache starts over: it only saves lookups, it decides nothing.
MAX_ENTRIES = 1_000_000


class AddressBook:
    """address → pool entry (key, path, fingerprint, branch) for one currency.

    The coordinator is the only record; this is a cache that a restarted watcher refills.
    """

    def __init__(self, coordinator: CoordinatorClient, currency: str):
        self._coordinator = coordinator
        self._currency = currency
        self._entries: dict[str, WatchAddress] = {}
        self._foreign: set[str] = set()

    def remember(self, entries: Iterable[WatchAddress]) -> None:
        """Keep entries the coordinator handed over anyway (imports, change reservations)."""
        if len(self._entries) > MAX_ENTRIES:
            self._entries.clear()
            self._foreign.clear()
        for entry in entries:
            self._entries[entry.address] = entry

    def entries(self, addresses: Iterable[str]) -> dict[str, WatchAddress]:
        """The pool entries of those addresses that are in the pool; the rest are left out."""
        wanted = set(addresses)
        missing = wanted - self._entries.keys() - self._foreign
        if missing:
            found = self._coordinator.lookup(self._currency, sorted(missing))
            self.remember(found)
            # Not in the pool: a script of ours the pool does not list. Asked again after a
            # restart only, so an address added to the pool later is found then.
            self._foreign |= missing - {e.address for e in found}
        return {a: self._entries[a] for a in wanted if a in self._entries}

    def receive(self, addresses: Iterable[str]) -> set[str]:
        """Those of the addresses that are deposit (receive-branch) addresses of the pool."""
        return {a for a, e in self.entries(addresses).items() if e.branch is AddressBranch.RECEIVE}
