"""Air-gapped file mode: the same checks and signing on a template file, with no network at all."""

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from custody.contract.templates import SignedTransaction, Template
from custody.signer.errors import FileFormatError
from custody.signer.signing import TemplateSigner

TEMPLATE_FORMAT = "custody-template/v1"
SIGNED_FORMAT = "custody-signed/v1"
MAX_FILE = 8_000_000


def read_template(path: Path) -> Template:
    """IN.json: {"format": "custody-template/v1", "template": <Template as the API returns it>}."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE + 1)
    except OSError as e:
        raise FileFormatError(f"cannot read {path}: {e.strerror}") from e
    if len(raw) > MAX_FILE:
        raise FileFormatError(f"{path} is larger than {MAX_FILE} bytes")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise FileFormatError(f"{path} is not JSON: {e}") from e
    if not isinstance(document, dict) or document.get("format") != TEMPLATE_FORMAT:
        raise FileFormatError(f"{path} is not a {TEMPLATE_FORMAT} file")
    if set(document) != {"format", "template"}:
        raise FileFormatError(f"{path} must hold exactly the keys format and template")
    try:
        return Template.model_validate(document["template"])
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise FileFormatError(f"{path}: template.{where}: {first['msg']}") from None


def signed_document(template_id: str, signed: SignedTransaction) -> dict[str, str]:
    """OUT.json's content."""
    return {
        "format": SIGNED_FORMAT,
        "template_id": template_id,
        "signed_payload": signed.signed_payload,
        "txid": signed.txid,
    }


def write_signed(path: Path, template_id: str, signed: SignedTransaction) -> None:
    """Write OUT.json atomically: it exists complete or not at all."""
    data = json.dumps(signed_document(template_id, signed), indent=2).encode("ascii") + b"\n"
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    except OSError as e:
        raise FileFormatError(f"cannot write {path}: {e.strerror}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise FileFormatError(f"cannot write {path}: {e.strerror}") from e


def sign_file(signer: TemplateSigner, in_path: Path, out_path: Path) -> SignedTransaction:
    """Read, check, sign and write; a Refusal leaves no OUT file behind."""
    template = read_template(in_path)
    signed = signer.sign(template)
    write_signed(out_path, template.id, signed)
    return signed
