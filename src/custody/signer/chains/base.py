"""The base class of a chain family's signer half: check a template, then sign what was checked."""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from custody.contract.addresses import PoolAddress
from custody.contract.currencies import ChainFamily
from custody.contract.templates import SignedTransaction, Template
from custody.signer.derivation import Branch, KeyRing
from custody.signer.intents import VerifiedIntent
from custody.signer.policy import CurrencyPolicy


@dataclass(frozen=True)
class CheckContext:
    """What a chain check needs beyond the template: the currency's policy and verified intents."""

    currency: CurrencyPolicy
    intents: Sequence[VerifiedIntent]


@dataclass(frozen=True)
class CheckedTx:
    """A template that passed every chain check; `spends` names what it consumes (outpoints)."""

    template_id: str
    txid: str
    spends: frozenset[str]
    fee: int


CheckedT = TypeVar("CheckedT", bound=CheckedTx)


class ChainSigner(ABC, Generic[CheckedT]):
    """One per chain family: parse and verify the family's payload, then sign it."""

    family: ClassVar[ChainFamily]

    def __init__(self, keys: KeyRing):
        self.keys = keys

    @abstractmethod
    def address(self, currency: CurrencyPolicy, branch: Branch, index: int) -> PoolAddress:
        """The pool entry of our key `index` on `branch`: address, path and public key."""

    @abstractmethod
    def check(self, template: Template, ctx: CheckContext) -> CheckedT:
        """Every check of the payload against the intents and policy; raises Refusal."""

    @abstractmethod
    def sign(self, checked: CheckedT) -> SignedTransaction:
        """Sign a checked transaction deterministically: the same input gives the same bytes."""
