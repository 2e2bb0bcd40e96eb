"""The XNO policy section and the pool branches a Nano currency keeps."""

from pathlib import Path

import pytest

from custody.contract.currencies import ChainFamily
from custody.signer.derivation import Branch
from custody.signer.errors import PolicyError
from custody.signer.policy import load_policy
from custody.signer.pool import family_targets
from tests.unit.nano.nano_templates import REPRESENTATIVE, write_nano_policy

EXAMPLE = Path(__file__).parents[3] / "examples" / "signer-policy.toml"


def test_documented_example_has_xno() -> None:
    xno = load_policy(EXAMPLE).currencies["XNO"]
    assert (xno.family, xno.network) == (ChainFamily.NANO, "nano-live")
    assert xno.max_per_withdrawal == 1000 * 10**30
    assert xno.representative is not None and xno.representative.startswith("nano_")


def test_representative_is_required_checked_and_normalized(tmp_path: Path) -> None:
    text = write_nano_policy(tmp_path).read_text()
    path = tmp_path / "p.toml"
    path.write_text(text.replace(REPRESENTATIVE, "xrb_" + REPRESENTATIVE[5:]))
    assert load_policy(path).currencies["XNO"].representative == REPRESENTATIVE
    mistyped = REPRESENTATIVE[:-1] + ("1" if REPRESENTATIVE[-1] != "1" else "3")
    path.write_text(text.replace(REPRESENTATIVE, mistyped))
    with pytest.raises(PolicyError, match=r"representative.*checksum"):
        load_policy(path)
    path.write_text(text.replace(f'representative = "{REPRESENTATIVE}"\n', ""))
    with pytest.raises(PolicyError, match="names its representative"):
        load_policy(path)


def test_nano_keeps_receive_and_one_hot_account_in_the_pool() -> None:
    targets = {Branch.RECEIVE: 20, Branch.CHANGE: 5}
    assert family_targets(ChainFamily.NANO, targets) == {Branch.RECEIVE: 20, Branch.HOT: 1}
    assert family_targets(ChainFamily.BITCOIN, targets) == targets
