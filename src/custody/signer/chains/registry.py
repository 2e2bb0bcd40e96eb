"""The chain families the signer can sign for, written out by hand: family → signer class."""

from typing import Any

from custody.contract.currencies import ChainFamily
from custody.contract.templates import TemplateKind
from custody.signer.chains.base import ChainSigner
from custody.signer.chains.bitcoin import BitcoinSigner
from custody.signer.chains.ethereum import EthereumSigner
from custody.signer.chains.nano import NanoSigner
from custody.signer.derivation import Branch

# Ethereum and Nano join here when their signer halves exist; a currency of any other family
# in the policy is refused at start, not at the first template.
SIGNERS: dict[ChainFamily, type[ChainSigner[Any]]] = {
    ChainFamily.BITCOIN: BitcoinSigner,
    ChainFamily.ETHEREUM: EthereumSigner,
    ChainFamily.NANO: NanoSigner,
}

# Template kinds a family signs besides withdrawal and sweep: Nano pockets deposits (receive).
EXTRA_KINDS: dict[ChainFamily, frozenset[TemplateKind]] = {
    ChainFamily.NANO: frozenset({TemplateKind.RECEIVE}),
    # Ethereum tops up a token's deposit address with the gas its sweep needs.
    ChainFamily.ETHEREUM: frozenset({TemplateKind.TOPUP}),
}

# Pool branches of a family that differ from receive + change, with a fixed target where the
# signer's setting does not apply (None: the setting's). Nano has no change: accounts are
# reused, and one hot account per currency pays withdrawals.
POOL_BRANCHES: dict[ChainFamily, dict[Branch, int | None]] = {
    ChainFamily.NANO: {Branch.RECEIVE: None, Branch.HOT: 1},
    # Ethereum has no change either: deposit addresses and one hot wallet per currency.
    ChainFamily.ETHEREUM: {Branch.RECEIVE: None, Branch.HOT: 1},
}

# Families whose spends are slots (an account's nonce), not coins: a slot signed for one
# purpose may be signed again only as a declared replacement paying the same withdrawals.
NONCE_FAMILIES: frozenset[ChainFamily] = frozenset({ChainFamily.ETHEREUM})
