"""Air-gapped signing of a Nano template file: the same checks, the same bytes, no network."""

import json
from pathlib import Path

import pytest

from custody.signer import filemode
from custody.signer.errors import Refusal
from custody.signer.signing import TemplateSigner
from testnodes.nano import crypto
from tests.unit.nano.nano_templates import foreign_account, pay, public_key


def write_in(path: Path, template_json: str) -> Path:
    path.write_text(json.dumps({"format": "custody-template/v1",
                                "template": json.loads(template_json)}))
    return path


def test_sign_file_signs_a_nano_send(nano_signer: TemplateSigner, tmp_path: Path) -> None:
    case = pay(foreign_account("cold storage"), 10**29)
    in_path = write_in(tmp_path / "in.json", case.template().model_dump_json())
    signed = filemode.sign_file(nano_signer, in_path, tmp_path / "out.json")
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["format"] == "custody-signed/v1" and out["txid"] == signed.txid
    raw = bytes.fromhex(out["signed_payload"])
    assert len(raw) == 216 and raw[208:] == bytes(8)  # the work is attached later
    assert crypto.verify(public_key(0), case.block.hash(), raw[144:208])
    first = (tmp_path / "out.json").read_bytes()
    filemode.sign_file(nano_signer, in_path, tmp_path / "out.json")
    assert (tmp_path / "out.json").read_bytes() == first


def test_sign_file_refuses_a_tampered_nano_send(
    nano_signer: TemplateSigner, tmp_path: Path
) -> None:
    case = pay(foreign_account("cold storage"), 10**29)
    case.block = case.block.but(balance=case.block.balance - 1)
    in_path = write_in(tmp_path / "in.json", case.template().model_dump_json())
    with pytest.raises(Refusal, match="nano_amount_mismatch"):
        filemode.sign_file(nano_signer, in_path, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
