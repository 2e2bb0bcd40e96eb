"""Address validation and network lists per chain family, dispatched by hand."""

from collections.abc import Callable

from custody.chains import bitcoin, ethereum, nano
from custody.chains.errors import UnknownNetworkError

_VALIDATORS: dict[str, Callable[[str, str], str]] = {
    "bitcoin": bitcoin.validate_address,
    "ethereum": ethereum.validate_address,
    "nano": nano.validate_address,
}

_NETWORKS: dict[str, frozenset[str]] = {
    "bitcoin": frozenset(bitcoin.NETWORKS),
    "ethereum": frozenset(ethereum.NETWORKS),
    "nano": frozenset(nano.NETWORKS),
}


def _family(family: str) -> str:
    if family not in _VALIDATORS:
        known = ", ".join(_VALIDATORS)
        raise UnknownNetworkError(f"unknown chain family {family!r} (known: {known})")
    return family


def validate_address(family: str, network: str, address: str) -> str:
    """Check `address` on `network` of chain `family`; return its normalized form."""
    return _VALIDATORS[_family(family)](network, address)


def known_networks(family: str) -> frozenset[str]:
    """The network names the chain modules know for `family`."""
    return _NETWORKS[_family(family)]
