"""The chain families the signer can sign for, written out by hand: family → signer class."""

from typing import Any

from custody.contract.currencies import ChainFamily
from custody.signer.chains.base import ChainSigner
from custody.signer.chains.bitcoin import BitcoinSigner

# Ethereum and Nano join here when their signer halves exist; a currency of any other family
# in the policy is refused at start, not at the first template.
SIGNERS: dict[ChainFamily, type[ChainSigner[Any]]] = {
    ChainFamily.BITCOIN: BitcoinSigner,
}
