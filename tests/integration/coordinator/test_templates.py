"""Templates: one live template per withdrawal, signed once, broadcast, confirmed and settled."""

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from custody.contract.withdrawals import WithdrawalIntent
from custody.coordinator import ledger
from custody.coordinator.db.tables import TemplateRow, TemplateWithdrawalRow
from custody.coordinator.db.types import utcnow
from tests.support.api import Api
from tests.support.keys import reissue


def _setup(api: Api, count: int = 2) -> list[dict[str, Any]]:
    """Alice is credited and asks for `count` small withdrawals, approved automatically."""
    api.fill_pool(1)
    api.credit("alice", 1_000_000)
    dest = api.fill_pool(1, branch="change")[0]
    result = []
    for i in range(count):
        intent = WithdrawalIntent(
            request_id=f"r{i}", user_id="alice", currency="LTC", amount=10_000, destination=dest
        )
        result.append(api.withdraw(intent).json())
    return result


def _template(api: Api, ids: list[str], payload: str = "cHNidP8BAA==", **over: Any) -> Any:
    body = {
        "currency": "LTC",
        "kind": "withdrawal",
        "withdrawal_ids": ids,
        "payload": payload,
        "txid": "11" * 32,
    }
    body.update(over)
    return api.watcher.post("/v1/templates", body)


def _signed(txid: str = "11" * 32) -> dict[str, str]:
    return {"signed_payload": "0200deadbeef", "txid": txid}


def test_full_lifecycle_settles_once(api: Api) -> None:
    ws = _setup(api)
    ids = [w["id"] for w in ws]
    t = _template(api, ids).json()
    assert t["status"] == "unsigned"
    assert [w["state"] for w in t["withdrawals"]] == ["in_template", "in_template"]
    unsigned = api.signer.get("/v1/templates", status="unsigned").json()
    assert [u["id"] for u in unsigned] == [t["id"]]
    assert unsigned[0]["withdrawals"][0]["signature"]  # the signer gets the signed intents
    s = api.signer.post(f"/v1/templates/{t['id']}/signature", _signed()).json()
    assert s["status"] == "signed"
    b = api.watcher.post(f"/v1/templates/{t['id']}/broadcast", {"txid": "11" * 32}).json()
    assert b["status"] == "broadcast"
    conf = {"block_hash": "22" * 32, "block_height": 200, "confirmations": 3}
    c = api.watcher.post(f"/v1/templates/{t['id']}/confirmation", conf).json()
    assert c["status"] == "confirmed"
    assert {w["state"] for w in c["withdrawals"]} == {"confirmed"}
    again = api.watcher.post(f"/v1/templates/{t['id']}/confirmation", conf)
    assert again.json()["status"] == "confirmed"
    assert api.balance("alice") == (1_000_000 - 22_000, 0)
    with api.runtime.sessions() as s:
        assert ledger.balance(s, ledger.WORLD_WITHDRAWALS, "LTC") == 20_000
        assert ledger.balance(s, ledger.FEES, "LTC") == 2_000
        assert ledger.totals(s) == {"LTC": 0}
        assert ledger.postings_match_balances(s)


def test_reposting_the_same_payload_answers_the_same_template(api: Api) -> None:
    ids = [w["id"] for w in _setup(api)]
    first = _template(api, ids).json()
    again = _template(api, ids)
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]


def test_a_withdrawal_is_in_one_live_template_only(api: Api) -> None:
    ids = [w["id"] for w in _setup(api)]
    _template(api, ids[:1])
    r = _template(api, ids, payload="cHNidP8BAB==")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "withdrawal_in_live_template"
    second = _template(api, ids[1:], payload="cHNidP8BAC==")
    assert second.status_code == 200


def test_the_database_itself_refuses_a_second_live_link(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    _template(api, ids)
    with pytest.raises(IntegrityError), api.runtime.sessions.begin() as s:
        s.add(
            TemplateRow(
                id="tpl_rogue",
                currency="LTC",
                kind="withdrawal",
                status="unsigned",
                payload="x",
                payload_hash="f" * 64,
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        s.flush()
        s.add(TemplateWithdrawalRow(template_id="tpl_rogue", withdrawal_id=ids[0], live=True))
        s.flush()


def test_signing_twice_with_other_bytes_is_refused(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    t = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{t['id']}/signature", _signed())
    same = api.signer.post(f"/v1/templates/{t['id']}/signature", _signed())
    assert same.status_code == 200
    other = api.signer.post(
        f"/v1/templates/{t['id']}/signature", {"signed_payload": "0200cafe", "txid": "11" * 32}
    )
    assert other.status_code == 409
    wrong_txid = _template(api, [], payload="c3dlZXA=", kind="sweep", txid="33" * 32).json()
    r = api.signer.post(f"/v1/templates/{wrong_txid['id']}/signature", _signed("44" * 32))
    assert r.status_code == 422


def test_rejection_fails_the_withdrawals_and_releases_holds(api: Api) -> None:
    ids = [w["id"] for w in _setup(api)]
    t = _template(api, ids).json()
    r = api.signer.post(
        f"/v1/templates/{t['id']}/rejection", {"code": "fee_over_cap", "reason": "fee 9000 > 5000"}
    )
    body = r.json()
    assert body["status"] == "rejected"
    assert body["rejection"] == {"code": "fee_over_cap", "reason": "fee 9000 > 5000"}
    assert {w["state"] for w in body["withdrawals"]} == {"failed"}
    assert {w["failure_code"] for w in body["withdrawals"]} == {"signer_refused:fee_over_cap"}
    assert api.balance("alice") == (1_000_000, 0)
    late = api.signer.post(f"/v1/templates/{t['id']}/signature", _signed())
    assert late.status_code == 409


def test_failure_with_retry_frees_the_withdrawals_for_a_new_template(api: Api) -> None:
    # Never signed (its inputs were spent before the signer came round): nothing to reissue.
    ids = [w["id"] for w in _setup(api)]
    t = _template(api, ids).json()
    failure = {"code": "inputs_spent", "reason": "input 0 spent by another tx", "outcome": "retry"}
    f = api.watcher.post(f"/v1/templates/{t['id']}/failure", failure).json()
    assert f["status"] == "failed"
    assert {w["state"] for w in f["withdrawals"]} == {"approved"}
    assert api.balance("alice")[1] == 22_000  # still held: they will be paid by the next one
    t2 = _template(api, ids, payload="cHNidP8BAD==", txid="55" * 32)
    assert t2.status_code == 200


def test_failure_with_fail_releases_the_hold(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    t = _template(api, ids).json()
    failure = {"code": "reverted", "reason": "receipt status 0", "outcome": "fail"}
    f = api.watcher.post(f"/v1/templates/{t['id']}/failure", failure).json()
    assert f["withdrawals"][0]["state"] == "failed"
    assert api.balance("alice") == (1_000_000, 0)


def test_replacement_takes_over_and_either_may_confirm(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    old = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{old['id']}/signature", _signed())
    api.watcher.post(f"/v1/templates/{old['id']}/broadcast", {"txid": "11" * 32})
    new = _template(api, ids, payload="cHNidP8BAE==", txid="66" * 32, replaces=old["id"]).json()
    assert new["status"] == "unsigned"
    assert api.watcher.get(f"/v1/templates/{old['id']}").json()["status"] == "broadcast"
    api.signer.post(f"/v1/templates/{new['id']}/signature", _signed("66" * 32))
    assert api.watcher.get(f"/v1/templates/{old['id']}").json()["status"] == "replaced"
    assert api.watcher.get(f"/v1/withdrawals/{ids[0]}").json()["template_id"] == new["id"]
    # The old transaction wins the race after all: the replacement can never confirm now.
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    c = api.watcher.post(f"/v1/templates/{old['id']}/confirmation", conf).json()
    assert c["status"] == "confirmed"
    assert api.watcher.get(f"/v1/templates/{new['id']}").json()["status"] == "failed"
    assert api.balance("alice") == (1_000_000 - 11_000, 0)


def test_cancel_voids_an_unsigned_template_but_not_a_signed_one(api: Api) -> None:
    ws = _setup(api)
    ids = [w["id"] for w in ws]
    t = _template(api, ids).json()
    r = api.exchange.post(f"/v1/withdrawals/{ids[0]}/cancel", {"reason": "changed mind"})
    assert r.json()["state"] == "cancelled"
    voided = api.watcher.get(f"/v1/templates/{t['id']}").json()
    assert voided["status"] == "voided"
    assert api.watcher.get(f"/v1/withdrawals/{ids[1]}").json()["state"] == "approved"
    t2 = _template(api, ids[1:], payload="cHNidP8BAF==").json()
    api.signer.post(f"/v1/templates/{t2['id']}/signature", _signed())
    r = api.exchange.post(f"/v1/withdrawals/{ids[1]}/cancel", {"reason": "too late"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "illegal_state")


def test_refused_replacement_leaves_the_replaced_transaction_paying(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    old = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{old['id']}/signature", _signed())
    api.watcher.post(f"/v1/templates/{old['id']}/broadcast", {"txid": "11" * 32})
    new = _template(api, ids, payload="cHNidP8BAG==", txid="88" * 32, replaces=old["id"]).json()
    # Until the signer signs the bump, the old transaction is the live one.
    assert api.watcher.get(f"/v1/templates/{old['id']}").json()["status"] == "broadcast"
    second = _template(api, ids, payload="cHNidP8BAH==", txid="99" * 32, replaces=old["id"])
    assert (second.status_code, second.json()["error"]["code"]) == (409, "illegal_state")
    refusal = {"code": "fee_rate_over_cap", "reason": "bump too large"}
    r = api.signer.post(f"/v1/templates/{new['id']}/rejection", refusal).json()
    assert r["status"] == "rejected"
    assert r["withdrawals"][0]["state"] == "broadcast"  # not failed: the old tx still pays it
    assert api.balance("alice") == (1_000_000 - 11_000, 11_000)
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    c = api.watcher.post(f"/v1/templates/{old['id']}/confirmation", conf)
    assert c.status_code == 200, c.text
    assert c.json()["withdrawals"][0]["state"] == "confirmed"
    assert api.balance("alice") == (1_000_000 - 11_000, 0)


def test_replacement_signed_after_the_old_one_confirmed_is_dead(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    old = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{old['id']}/signature", _signed())
    new = _template(api, ids, payload="cHNidP8BAI==", txid="aa" * 32, replaces=old["id"]).json()
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    api.watcher.post(f"/v1/templates/{old['id']}/confirmation", conf)
    assert api.watcher.get(f"/v1/templates/{new['id']}").json()["status"] == "failed"
    late = api.signer.post(f"/v1/templates/{new['id']}/signature", _signed("aa" * 32))
    assert late.status_code == 409
    assert api.balance("alice") == (1_000_000 - 11_000, 0)


def test_a_chain_of_replacements_dies_when_the_first_confirms(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    a = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{a['id']}/signature", _signed())
    b = _template(api, ids, payload="cHNidP8BAJ==", txid="b1" * 32, replaces=a["id"]).json()
    api.signer.post(f"/v1/templates/{b['id']}/signature", _signed("b1" * 32))
    c = _template(api, ids, payload="cHNidP8BAK==", txid="c1" * 32, replaces=b["id"]).json()
    api.signer.post(f"/v1/templates/{c['id']}/signature", _signed("c1" * 32))
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    assert api.watcher.post(f"/v1/templates/{a['id']}/confirmation", conf).status_code == 200
    states = {t: api.watcher.get(f"/v1/templates/{t}").json()["status"] for t in (b["id"], c["id"])}
    assert states == {b["id"]: "replaced", c["id"]: "failed"}
    late = {"code": "nonce_used", "reason": "x", "outcome": "fail"}
    assert api.watcher.post(f"/v1/templates/{c['id']}/failure", late).json()["status"] == "failed"
    assert api.balance("alice") == (1_000_000 - 11_000, 0)


def test_payment_confirmed_after_its_hold_was_released_is_booked_and_flagged(api: Api) -> None:
    from sqlalchemy import select

    from custody.coordinator.db.tables import AuditRow

    ids = [w["id"] for w in _setup(api, 1)]
    a = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{a['id']}/signature", _signed())
    b = _template(api, ids, payload="cHNidP8BAL==", txid="b2" * 32, replaces=a["id"]).json()
    api.signer.post(f"/v1/templates/{b['id']}/signature", _signed("b2" * 32))
    # The watcher wrongly gives up on the bump and releases the hold...
    wrong = {"code": "dropped", "reason": "not in mempool", "outcome": "fail"}
    api.watcher.post(f"/v1/templates/{b['id']}/failure", wrong)
    assert api.balance("alice") == (1_000_000, 0)
    # ...but the replaced transaction was still out there, and it confirms.
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    r = api.watcher.post(f"/v1/templates/{a['id']}/confirmation", conf)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawals"][0]["state"] == "confirmed"
    assert api.balance("alice") == (1_000_000 - 11_000, 0)
    with api.runtime.sessions() as s:
        actions = list(s.scalars(select(AuditRow.action)))
    assert "alert_paid_after_release" in actions


def test_a_failed_template_that_confirms_after_all_is_booked_once(api: Api) -> None:
    ids = [w["id"] for w in _setup(api, 1)]
    t1 = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{t1['id']}/signature", _signed())
    retry = {"code": "inputs_spent", "reason": "conflict 3 deep", "outcome": "retry"}
    api.watcher.post(f"/v1/templates/{t1['id']}/failure", retry)
    intent = api.watcher.get(f"/v1/withdrawals/{ids[0]}").json()["intent"]
    api.operator.post(
        f"/v1/withdrawals/{ids[0]}/reissues",
        reissue(WithdrawalIntent.model_validate(intent), "11" * 32),
    )
    t2 = _template(api, ids, payload="cHNidP8BAM==", txid="d2" * 32).json()
    # A deeper reorg brings the first transaction back after all.
    conf = {"block_hash": "77" * 32, "block_height": 9, "confirmations": 3}
    r = api.watcher.post(f"/v1/templates/{t1['id']}/confirmation", conf)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawals"][0]["state"] == "confirmed"
    retired = api.watcher.get(f"/v1/templates/{t2['id']}").json()
    assert (retired["status"], retired["failure"]["code"]) == ("failed", "paid_by_other_template")
    assert (
        api.signer.post(f"/v1/templates/{t2['id']}/signature", _signed("d2" * 32)).status_code
        == 409
    )
    assert api.balance("alice") == (1_000_000 - 11_000, 0)


def test_retry_after_signing_waits_for_operators_to_reissue(api: Api) -> None:
    ws = _setup(api, 1)
    ids = [w["id"] for w in ws]
    intent = WithdrawalIntent.model_validate(ws[0]["intent"])
    t1 = _template(api, ids).json()
    api.signer.post(f"/v1/templates/{t1['id']}/signature", _signed())
    retry = {"code": "inputs_spent", "reason": "input 0 spent 3 deep", "outcome": "retry"}
    f = api.watcher.post(f"/v1/templates/{t1['id']}/failure", retry).json()
    assert f["withdrawals"][0]["state"] == "awaiting_reissue"
    # No new template until operators say the signed transaction is dead.
    blocked = _template(api, ids, payload="cHNidP8BAN==", txid="e1" * 32)
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (409, "illegal_state")
    wrong = api.operator.post(f"/v1/withdrawals/{ids[0]}/reissues", reissue(intent, "ab" * 32))
    assert (wrong.status_code, wrong.json()["error"]["field"]) == (422, "txid")
    forged = {**reissue(intent, "11" * 32), "signature": reissue(intent, "ab" * 32)["signature"]}
    r = api.operator.post(f"/v1/withdrawals/{ids[0]}/reissues", forged)
    assert r.json()["error"]["code"] == "invalid_signature"
    ok = api.operator.post(f"/v1/withdrawals/{ids[0]}/reissues", reissue(intent, "11" * 32))
    assert ok.json()["state"] == "approved"
    assert ok.json()["reissues"][0]["txid"] == "11" * 32
    again = api.operator.post(f"/v1/withdrawals/{ids[0]}/reissues", reissue(intent, "11" * 32))
    assert again.json() == ok.json()
    t2 = _template(api, ids, payload="cHNidP8BAN==", txid="e1" * 32)
    assert t2.status_code == 200
    # The signer sees the reissue with the withdrawal it is asked to pay again.
    listed = api.signer.get("/v1/templates", status="unsigned").json()
    assert listed[-1]["withdrawals"][0]["reissues"][0]["txid"] == "11" * 32
    assert api.balance("alice")[1] == 11_000  # held throughout: it is still to be paid
