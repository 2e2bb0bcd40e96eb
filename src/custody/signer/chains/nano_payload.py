"""The signer's own strict parser of a Nano template payload (format custody-nano-template/v1).

A payload is one JSON object, exactly these keys:

    {"format": "custody-nano-template/v1",
     "subtype": "send" | "receive" | "open" | "change",   as the watcher will publish it
     "path": "m/44'/165'/i'",                              the account's claimed derivation
     "block": {unsigned state block: type, account, previous, representative, balance, link},
     "previous": {the full previous block with signature and work} | null (open blocks only),
     "work": "16 hex digits"}                              for the watcher; never signed

Anything else is refused: the signer reads nothing it does not check.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from custody.chains import nano
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R

FORMAT = "custody-nano-template/v1"
_KEYS = {"format", "subtype", "path", "block", "previous", "work"}
_SUBTYPES = (nano.SEND, nano.RECEIVE, nano.OPEN, nano.CHANGE)
_WORK = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class NanoPayload:
    """A parsed payload: nothing in it is trusted yet, only well-formed."""

    subtype: str
    path: str
    block: nano.StateBlock
    previous: nano.StateBlock | None
    work: int


def _malformed(reason: str) -> Refusal:
    return Refusal(R.NANO_PAYLOAD_MALFORMED, reason)


def parse_payload(text: str) -> NanoPayload:
    """Parse strictly; every defect is NANO_PAYLOAD_MALFORMED naming the field."""
    try:
        tree: Any = json.loads(text)
    except ValueError as e:
        raise _malformed(f"the payload is not JSON: {e}") from e
    if not isinstance(tree, dict) or set(tree) != _KEYS:
        raise _malformed(f"the payload is an object with exactly {', '.join(sorted(_KEYS))}")
    if tree["format"] != FORMAT:
        raise _malformed(f"format {tree['format']!r} is not {FORMAT}")
    subtype, path, work = tree["subtype"], tree["path"], tree["work"]
    if subtype not in _SUBTYPES:
        raise _malformed(f"subtype {subtype!r} is none of {', '.join(_SUBTYPES)}")
    if not isinstance(path, str) or len(path) > 64:
        raise _malformed("path must be a derivation path string")
    if not isinstance(work, str) or not _WORK.fullmatch(work):
        raise _malformed("work must be 16 lower-case hex digits")
    block = _block(tree["block"], "block", signed=False)
    previous = None if tree["previous"] is None else _block(tree["previous"], "previous", True)
    return NanoPayload(subtype, path, block, previous, int(work, 16))


def _block(tree: Any, name: str, signed: bool) -> nano.StateBlock:
    try:
        return nano.block_from_json(tree, signed=signed)
    except ValueError as e:
        raise _malformed(f"{name}: {e}") from e
