"""Errors of the chain-knowledge modules: each message names what is wrong."""


class AddressError(ValueError):
    """An address, key or script that this chain family cannot accept, with the reason why."""


class UnknownNetworkError(AddressError):
    """A network or family name that the chain modules do not know: a configuration mistake."""
