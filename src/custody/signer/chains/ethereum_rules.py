"""What an Ethereum template may do, by kind: pay one intent, sweep to the hot wallet, top up gas.

Each rule looks at the decoded transaction only (never at what the watcher says it is) and
refuses with the code of the first check that fails.
"""

from collections.abc import Sequence

from custody.chains.ethereum_tx import Eip1559Tx, TxError, address_bytes, checksum, decode_transfer
from custody.signer.errors import Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.intents import VerifiedIntent
from custody.signer.policy import CurrencyPolicy


def _recipient(tx: Eip1559Tx) -> bytes:
    if tx.to is None:
        raise Refusal(R.ETH_CONTRACT_CREATION, "the transaction creates a contract")
    return tx.to


def _token_transfer(tx: Eip1559Tx, contract: str) -> tuple[bytes, int]:
    """(recipient, amount) of a token transfer: a call of transfer() on the contract, no ETH."""
    if _recipient(tx) != address_bytes(contract):
        raise Refusal(
            R.ETH_TOKEN_CONTRACT_MISMATCH,
            f"the transaction calls {checksum(_recipient(tx))}, not the token contract {contract}",
        )
    if tx.value:
        raise Refusal(R.ETH_VALUE_MISMATCH, f"a token transfer that also sends {tx.value} wei")
    try:
        return decode_transfer(tx.data)
    except TxError as e:
        raise Refusal(R.ETH_CALLDATA_MISMATCH, f"the token calldata: {e}") from e


def _plain(tx: Eip1559Tx) -> bytes:
    """The recipient of a plain ETH transfer: one that carries no calldata."""
    to = _recipient(tx)
    if tx.data:
        raise Refusal(
            R.ETH_CALLDATA_UNEXPECTED, f"an ETH transfer with {len(tx.data)} bytes of data"
        )
    return to


def check_withdrawal(
    tx: Eip1559Tx, intents: Sequence[VerifiedIntent], currency: CurrencyPolicy
) -> None:
    """Exactly one intent, paid exactly: to its destination, its amount, in ETH or the token."""
    if len(intents) != 1:
        raise Refusal(
            R.ETH_ONE_WITHDRAWAL_PER_TX,
            f"an Ethereum transaction pays one withdrawal, this template names {len(intents)}",
        )
    [intent] = intents
    if currency.token_contract is not None:
        to, amount = _token_transfer(tx, currency.token_contract)
    else:
        to, amount = _plain(tx), tx.value
    if to != address_bytes(intent.destination):
        raise Refusal(
            R.ETH_RECIPIENT_MISMATCH,
            f"withdrawal {intent.withdrawal_id} goes to {intent.destination}, "
            f"the transaction pays {checksum(to)}",
        )
    if amount != intent.amount:
        raise Refusal(
            R.ETH_VALUE_MISMATCH,
            f"withdrawal {intent.withdrawal_id} is for {intent.amount}, the transaction pays {amount}",
        )


def check_sweep(tx: Eip1559Tx, hot: str, currency: CurrencyPolicy) -> None:
    """A sweep pays the hot wallet only: ETH to it, or the token's transfer(hot, amount)."""
    hot_raw = address_bytes(hot)
    token = currency.token_contract
    if token is not None and _recipient(tx) == address_bytes(token):
        to, _ = _token_transfer(tx, token)
    else:
        # ETH of a deposit address, the ETH left over from a top-up, or a zero-value
        # self-transfer of the hot wallet that fills a nonce gap.
        to = _plain(tx)
    if to != hot_raw:
        raise Refusal(
            R.ETH_SWEEP_NOT_TO_HOT, f"the sweep pays {checksum(to)}, not the hot wallet {hot}"
        )


def check_topup(tx: Eip1559Tx, ours: str, currency: CurrencyPolicy) -> None:
    """A top-up sends a deposit address of a token the gas for one transaction, nothing more."""
    if _plain(tx) != address_bytes(ours):
        raise Refusal(
            R.ETH_TOPUP_NOT_OURS,
            f"the top-up pays {checksum(_plain(tx))}, not our deposit address {ours}",
        )
    if tx.value > currency.max_fee:
        raise Refusal(
            R.ETH_TOPUP_OVER_CAP,
            f"the top-up sends {tx.value} wei, more than one transaction's fee cap "
            f"{currency.max_fee}",
        )


def check_fees(tx: Eip1559Tx, currency: CurrencyPolicy) -> int:
    """Gas limit, fee cap per gas and fee per transaction under the policy; the most it can cost."""
    if currency.max_gas is not None and tx.gas_limit > currency.max_gas:
        raise Refusal(
            R.ETH_GAS_LIMIT_OVER_CAP,
            f"gas limit {tx.gas_limit} exceeds the cap {currency.max_gas}",
        )
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise Refusal(
            R.ETH_PRIORITY_FEE_ABOVE_MAX_FEE,
            f"priority fee {tx.max_priority_fee_per_gas} above the max fee {tx.max_fee_per_gas}",
        )
    if tx.max_fee_per_gas > currency.max_fee_rate:
        raise Refusal(
            R.FEE_RATE_OVER_CAP,
            f"max fee {tx.max_fee_per_gas} wei/gas exceeds the cap {currency.max_fee_rate}",
        )
    fee = tx.gas_limit * tx.max_fee_per_gas
    if fee > currency.max_fee:
        raise Refusal(R.FEE_OVER_CAP, f"fee up to {fee} wei exceeds the cap {currency.max_fee}")
    return fee
