"""Which classes serve which chain family: dictionaries written out by hand."""

from custody.contract.currencies import ChainFamily
from custody.watcher.chains.base import ChainWatcher
from custody.watcher.chains.bitcoin import BitcoinWatcher
from custody.watcher.chains.ethereum import EthereumWatcher
from custody.watcher.chains.ethereum_settings import EthereumWatched
from custody.watcher.chains.nano import NanoWatcher
from custody.watcher.chains.nano_settings import NanoWatched
from custody.watcher.settings import WatchedCurrency

WATCHERS: dict[ChainFamily, type[ChainWatcher]] = {
    ChainFamily.BITCOIN: BitcoinWatcher,
    ChainFamily.ETHEREUM: EthereumWatcher,
    ChainFamily.NANO: NanoWatcher,
}

# The model a currency's config entry (with its `[currencies.node]` table) is read with.
WATCHED: dict[ChainFamily, type[WatchedCurrency]] = {
    ChainFamily.BITCOIN: WatchedCurrency,
    ChainFamily.ETHEREUM: EthereumWatched,
    ChainFamily.NANO: NanoWatched,
}
