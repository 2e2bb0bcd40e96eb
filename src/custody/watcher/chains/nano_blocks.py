"""Our Nano blocks as the coordinator holds them: template payloads, signed blocks, per account.

The watcher keeps no state of its own. Each round it reads the live templates (unsigned,
signed, broadcast) and groups their blocks by account: that is what serializes the blocks of
one account (never two of ours on the same previous) across restarts.
"""

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from custody.chains import nano as chain
from custody.contract.templates import Template, TemplateStatus
from custody.watcher.client import CoordinatorClient
from custody.watcher.errors import TemplateError

log = logging.getLogger(__name__)

FORMAT = "custody-nano-template/v1"


def build_payload(
    subtype: str,
    path: str,
    block: chain.StateBlock,
    previous: chain.StateBlock | None,
    work: int,
) -> str:
    """The template payload (see docs/nano.md): canonical JSON, so the same block built again
    gives the same payload and the coordinator answers the same template."""
    tree = {
        "format": FORMAT,
        "subtype": subtype,
        "path": path,
        "block": block.to_json(),
        "previous": None if previous is None else previous.to_json(),
        "work": chain.work_hex(work),
    }
    return json.dumps(tree, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class OurBlock:
    """A live template's block: signed (with our signature) once the signer answered, with the
    work the watcher put in the payload."""

    template: Template
    subtype: str
    block: chain.StateBlock

    @property
    def hash(self) -> bytes:
        """The block hash (the template's txid)."""
        return self.block.hash

    @property
    def signed(self) -> bool:
        """The signer answered."""
        return self.block.signature is not None


def our_block(template: Template) -> OurBlock:
    """Parse a template of ours; TemplateError if it is not one this watcher could have built."""
    try:
        tree = json.loads(template.payload)
        subtype = str(tree["subtype"])
        block = chain.block_from_json(tree["block"], signed=False).with_work(int(tree["work"], 16))
    except (ValueError, KeyError, TypeError) as e:
        raise TemplateError(f"template {template.id} is no nano template: {e}") from e
    if template.signed_payload is not None:
        signed = _signed_block(template, block)
        block = block.with_signature(signed)
    return OurBlock(template, subtype, block)


def _signed_block(template: Template, block: chain.StateBlock) -> bytes:
    """The signature from the signer's bytes, which must be this very block."""
    assert template.signed_payload is not None
    try:
        signed = chain.block_from_bytes(bytes.fromhex(template.signed_payload))
    except ValueError as e:
        raise TemplateError(f"template {template.id}: signed bytes are no state block") from e
    if signed.hash != block.hash or signed.signature is None:
        raise TemplateError(f"template {template.id}: the signed block is another block")
    return signed.signature


@dataclass
class Live:
    """Our live blocks of one currency, by account."""

    by_account: dict[bytes, list[OurBlock]] = field(default_factory=lambda: defaultdict(list))
    # Accounts that got a new template in this round: nothing else is built on them.
    touched: set[bytes] = field(default_factory=set)

    def add(self, ours: OurBlock) -> None:
        """Count a block (a template just posted, for the rest of the round)."""
        self.by_account[ours.block.account].append(ours)
        self.touched.add(ours.block.account)

    def blocks(self, status: TemplateStatus) -> list[OurBlock]:
        """Every live block in one template status, oldest first."""
        found = [b for bs in self.by_account.values() for b in bs if b.template.status is status]
        return sorted(found, key=lambda b: (b.template.created_at, b.template.id))

    def busy(self, account: bytes) -> bool:
        """True while a block of ours on `account` is not on the node yet (unsigned or signed):
        the next one could only be built on a frontier that is about to move."""
        return account in self.touched or any(
            b.template.status is not TemplateStatus.BROADCAST for b in self.by_account[account]
        )

    def broadcast_hashes(self, account: bytes) -> set[bytes]:
        """Hashes of our blocks on `account` that the node has (reported broadcast)."""
        return {
            b.hash
            for b in self.by_account[account]
            if b.template.status is TemplateStatus.BROADCAST
        }


def load_live(coordinator: CoordinatorClient, currency: str) -> Live:
    """Every live template of `currency`, parsed; unreadable ones are logged and left out."""
    live = Live()
    for status in (TemplateStatus.UNSIGNED, TemplateStatus.SIGNED, TemplateStatus.BROADCAST):
        for ours in _parse_all(coordinator.templates(currency, status)):
            live.by_account[ours.block.account].append(ours)
    return live


def _parse_all(templates: Iterable[Template]) -> list[OurBlock]:
    parsed = []
    for template in templates:
        try:
            parsed.append(our_block(template))
        except TemplateError as e:
            log.error("ALERT %s", e)
    return parsed


def chain_order(blocks: Iterable[OurBlock]) -> list[OurBlock]:
    """Blocks of one account in the order they must be published: each after its previous."""
    pending = sorted(blocks, key=lambda b: (b.template.created_at, b.template.id))
    hashes = {b.hash for b in pending}
    ordered = [b for b in pending if b.block.previous not in hashes]
    by_previous: dict[bytes, list[OurBlock]] = defaultdict(list)
    for b in pending:
        if b.block.previous in hashes:
            by_previous[b.block.previous].append(b)
    at = 0
    while at < len(ordered):
        ordered += by_previous.pop(ordered[at].hash, [])
        at += 1
    return ordered
