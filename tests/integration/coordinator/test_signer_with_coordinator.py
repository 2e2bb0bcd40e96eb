"""The signer against the real coordinator over HTTP.

The signer fills the coordinator's pool with addresses it derives. Alice is given one of them,
a scripted watcher report credits her deposit, and she asks for two withdrawals. The watcher's
first template pays the first one honestly: the signer's loop signs it and the coordinator
holds the signed bytes. The second template pays Bob instead of the intent's destination: the
signer refuses it, the coordinator shows the refusal's code, fails that withdrawal and gives
Alice her hold back.
"""

from pathlib import Path

from embit.psbt import PSBT

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator.auth import Role
from custody.coordinator.runtime import Runtime
from custody.signer import keystore
from custody.signer.loop import open_loop
from custody.signer.settings import SignerSettings
from tests.support.api import Api
from tests.support.server import serve
from tests.support.signer_templates import (
    ALICE,
    ALICE_SCRIPT,
    BOB_SCRIPT,
    MNEMONIC,
    ONE,
    Coin,
    Out,
    build_psbt,
    change_out,
    encode,
    path,
    write_policy,
)

PASSPHRASE = "integration passphrase"


def _settings(tmp_path: Path, url: str, token: str) -> SignerSettings:
    keystore.create(tmp_path / "keystore.json", MNEMONIC, PASSPHRASE, scrypt_n=2**10)
    return SignerSettings(
        keystore=tmp_path / "keystore.json",
        policy=write_policy(tmp_path),
        journal=tmp_path / "journal.jsonl",
        coordinator_url=url,
        token=token,
        pool_target=4,
    )


def _template(api: Api, wid: str, psbt: PSBT) -> str:
    payload, txid = encode(psbt)
    body = {
        "currency": "LTC",
        "kind": "withdrawal",
        "withdrawal_ids": [wid],
        "payload": payload,
        "txid": txid,
    }
    r = api.watcher.post("/v1/templates", body)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_signer_signs_what_checks_out_and_the_coordinator_shows_refusals(
    api: Api, runtime: Runtime, tmp_path: Path
) -> None:
    with serve(runtime) as url:
        settings = _settings(tmp_path, url, api.tokens[Role.SIGNER])
        with open_loop(settings, PASSPHRASE) as loop:
            assert loop.run_once().added == 8  # 4 receive + 4 change
            levels = {
                (p["branch"], p["unused"]) for p in api.signer.get("/v1/addresses/pool").json()
            }
            assert levels == {("receive", 4), ("change", 4)}
            assert loop.run_once().added == 0  # the pool is full: nothing re-posted

            deposit = api.deposit_address("alice")
            first = api.watcher.get("/v1/addresses", currency="LTC", address=deposit).json()[0]
            assert first["derivation_path"] == path(0, 0)
            api.credit("alice", 3 * ONE, txid="f0" * 32)

            def withdraw(rid: str) -> str:
                intent = WithdrawalIntent(
                    request_id=rid,
                    user_id="alice",
                    currency="LTC",
                    amount=ONE // 2,
                    destination=ALICE,
                )
                r = api.withdraw(intent)
                assert r.json()["state"] == "approved", r.text
                return str(r.json()["id"])

            honest = _template(
                api,
                withdraw("honest"),
                build_psbt(
                    [Coin(path(0, 0), 3 * ONE, "a")],
                    [Out(ALICE_SCRIPT, ONE // 2), change_out(0, 3 * ONE - ONE // 2 - 5_000)],
                ),
            )
            report = loop.run_once()
            assert (report.signed, report.refused) == (1, 0)
            signed = api.signer.get(f"/v1/templates/{honest}").json()
            assert signed["status"] == "signed"
            assert signed["signed_payload"] and signed["txid"]

            swapped = _template(
                api,
                withdraw("swapped"),
                build_psbt(
                    [Coin(path(0, 0), 3 * ONE, "b")],
                    [Out(BOB_SCRIPT, ONE // 2), change_out(1, 3 * ONE - ONE // 2 - 5_000)],
                ),
            )
            report = loop.run_once()
            assert (report.signed, report.refused) == (0, 1)
            refused = api.signer.get(f"/v1/templates/{swapped}").json()
            assert refused["status"] == "rejected"
            assert refused["rejection"]["code"] == "output_unexpected"
            failed = refused["withdrawals"][0]
            assert (failed["state"], failed["failure_code"]) == (
                "failed",
                "signer_refused:output_unexpected",
            )
    # 3 LTC credited; the honest withdrawal (0.5 LTC + 1000 fee) is still held until it
    # confirms; the refused one was released.
    assert api.balance("alice") == (3 * ONE - ONE // 2 - 1000, ONE // 2 + 1000)
