"""Policy file: the documented example loads; every mistake is one line naming the field."""

from pathlib import Path

import pytest

from custody.signer.errors import PolicyError
from custody.signer.policy import load_policy
from tests.support.signer_templates import ALICE, BOB, policy_text

EXAMPLE = Path(__file__).parents[3] / "examples" / "signer-policy.toml"


def test_documented_example_loads() -> None:
    policy = load_policy(EXAMPLE)
    ltc = policy.currency("LTC")
    assert ltc is not None and ltc.code == "LTC" and ltc.network == "ltc-main"
    assert ltc.max_fee == 2_000_000 and ltc.allowlist is None
    assert [t.required for t in ltc.approvals] == [0, 1, 2]
    assert ltc.tier_for(10**9) is ltc.approvals[0]
    assert ltc.tier_for(10**9 + 1) is ltc.approvals[1]
    assert ltc.tier_for(10**30) is ltc.approvals[2]
    assert policy.currency("DOGE") is None


def test_bounded_tiers_leave_larger_amounts_uncovered(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(policy_text().replace("required = 2\n", 'up_to = "2000000000"\nrequired = 2\n'))
    ltc = load_policy(path).currencies["LTC"]
    assert ltc.tier_for(2_000_000_000) is ltc.approvals[2]
    assert ltc.tier_for(2_000_000_001) is None


def test_allowlist_is_normalized(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(policy_text(allowlist=[ALICE.upper(), BOB]))
    ltc = load_policy(path).currencies["LTC"]
    assert ltc.allowlist == frozenset({ALICE, BOB})


def _broken(tmp_path: Path, old: str, new: str) -> str:
    text = policy_text()
    assert old in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('max_fee = "100000"', "max_fee = -5", "currencies.LTC.max_fee"),
        ('max_fee = "100000"', 'max_fee = "1.5"', "no decimals"),
        ('network = "ltc-regtest"', 'network = "ltc-moon"', "unknown bitcoin network"),
        ('family = "bitcoin"', 'family = "ripple"', "currencies.LTC.family"),
        ('up_to = "1000000000"', 'up_to = "10"', "increasing order"),
        ("required = 1", "required = 4", "lists 3 operators"),
        ('exchange_key = "', 'exchange_key = "zz', "exchange_key"),
        ("[currencies.LTC]", "colour = 1\n[currencies.LTC]", "colour"),
        ('max_per_day = "', 'max_per_dya = "', "currencies.LTC.max_per_d"),
        ("required = 1", "required = 1\nup_to_x = 1", "up_to_x"),
        ("max_per_day", "allowlist = [\"nope\"]\nmax_per_day", "allowlist address 'nope'"),
        ('operators = ["', 'operators = ["AB', "not 64 lowercase hex"),
        ("[currencies.LTC]", "[currencies.ltc]", "currencies.ltc.code"),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert expected in _broken(tmp_path, old, new)


def test_duplicate_operator(tmp_path: Path) -> None:
    text = policy_text()
    first = text.split('operators = ["')[1][:64]
    second = text.split('operators = ["')[1].split('", "')[1]
    message = _broken(tmp_path, second, first)
    assert "listed twice" in message


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy file"):
        load_policy(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("exchange_key = ")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
