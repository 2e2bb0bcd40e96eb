"""The signer's one root exception, its refusal codes and the errors at each boundary."""

from enum import StrEnum


class SignerError(Exception):
    """Root of every error the signer raises on purpose. Messages never carry key material."""


class SettingsError(SignerError):
    """The signer's settings are missing or invalid."""


class KeystoreError(SignerError):
    """The keystore cannot be created or unlocked: wrong passphrase, damaged or unsafe file."""


class PolicyError(SignerError):
    """The policy file is missing or invalid."""


class JournalError(SignerError):
    """The journal cannot be read or written; signing stops rather than sign unrecorded."""


class FileFormatError(SignerError):
    """An air-gapped template file is not in the documented format."""


class CoordinatorError(SignerError):
    """The coordinator could not be reached or answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RefusalCode(StrEnum):
    """Why the signer refused a template. Stable: the coordinator shows them, operators grep them."""

    # the template as a whole
    CURRENCY_NOT_CONFIGURED = "currency_not_configured"
    NETWORK_MISMATCH = "network_mismatch"
    TEMPLATE_KIND_UNSUPPORTED = "template_kind_unsupported"
    WITHDRAWALS_MISSING = "withdrawals_missing"
    WITHDRAWAL_DUPLICATED = "withdrawal_duplicated"
    # the signed intents and their approvals
    INTENT_CURRENCY_MISMATCH = "intent_currency_mismatch"
    INTENT_SIGNATURE_INVALID = "intent_signature_invalid"
    INTENT_AMOUNT_INVALID = "intent_amount_invalid"
    DESTINATION_INVALID = "destination_invalid"
    WRONG_NETWORK = "wrong_network"
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"
    APPROVAL_TIER_MISSING = "approval_tier_missing"
    APPROVAL_INVALID = "approval_invalid"
    REISSUE_INVALID = "reissue_invalid"
    APPROVALS_INSUFFICIENT = "approvals_insufficient"
    LIMIT_PER_WITHDRAWAL = "limit_per_withdrawal"
    LIMIT_DAILY = "limit_daily"
    # the payload's encoding
    PAYLOAD_NOT_BASE64 = "payload_not_base64"
    PSBT_MALFORMED = "psbt_malformed"
    PSBT_TRUNCATED = "psbt_truncated"
    PSBT_TRAILING_DATA = "psbt_trailing_data"
    PSBT_UNSUPPORTED = "psbt_unsupported"
    TXID_MISMATCH = "txid_mismatch"
    # inputs
    INPUT_DUPLICATED = "input_duplicated"
    INPUT_UTXO_MISSING = "input_utxo_missing"
    INPUT_UTXO_MISMATCH = "input_utxo_mismatch"
    INPUT_SCRIPT_UNSUPPORTED = "input_script_unsupported"
    INPUT_NOT_OURS = "input_not_ours"
    INPUT_DERIVATION_MISMATCH = "input_derivation_mismatch"
    DERIVATION_FOREIGN_FINGERPRINT = "derivation_foreign_fingerprint"
    DERIVATION_PATH_INVALID = "derivation_path_invalid"
    SIGHASH_UNSUPPORTED = "sighash_unsupported"
    # outputs
    OUTPUT_UNEXPECTED = "output_unexpected"
    OUTPUT_AMOUNT_MISMATCH = "output_amount_mismatch"
    OUTPUT_SCRIPT_UNSUPPORTED = "output_script_unsupported"
    INTENT_UNPAID = "intent_unpaid"
    CHANGE_NOT_OURS = "change_not_ours"
    CHANGE_WRONG_BRANCH = "change_wrong_branch"
    # fee
    FEE_NEGATIVE = "fee_negative"
    FEE_OVER_CAP = "fee_over_cap"
    FEE_RATE_OVER_CAP = "fee_rate_over_cap"
    # Nano state blocks (custody.signer.chains.nano)
    NANO_PAYLOAD_MALFORMED = "nano_payload_malformed"
    NANO_ACCOUNT_NOT_OURS = "nano_account_not_ours"
    NANO_PREVIOUS_MISSING = "nano_previous_missing"
    NANO_PREVIOUS_MISMATCH = "nano_previous_mismatch"
    NANO_PREVIOUS_NOT_OURS = "nano_previous_not_ours"
    NANO_SUBTYPE_MISMATCH = "nano_subtype_mismatch"
    NANO_SUBTYPE_UNSUPPORTED = "nano_subtype_unsupported"
    NANO_LINK_ZERO = "nano_link_zero"
    NANO_REPRESENTATIVE_NOT_CONFIGURED = "nano_representative_not_configured"
    NANO_KIND_MISMATCH = "nano_kind_mismatch"
    NANO_NOT_HOT_ACCOUNT = "nano_not_hot_account"
    NANO_ONE_WITHDRAWAL_PER_BLOCK = "nano_one_withdrawal_per_block"
    NANO_DESTINATION_MISMATCH = "nano_destination_mismatch"
    NANO_AMOUNT_MISMATCH = "nano_amount_mismatch"
    NANO_SWEEP_FROM_HOT = "nano_sweep_from_hot"
    NANO_SWEEP_NOT_TO_HOT = "nano_sweep_not_to_hot"
    # Ethereum EIP-1559 transactions (custody.signer.chains.ethereum)
    ETH_PAYLOAD_MALFORMED = "eth_payload_malformed"
    ETH_TX_MALFORMED = "eth_tx_malformed"
    ETH_TX_TYPE_UNSUPPORTED = "eth_tx_type_unsupported"
    ETH_ACCESS_LIST_UNSUPPORTED = "eth_access_list_unsupported"
    ETH_CHAIN_ID_MISMATCH = "eth_chain_id_mismatch"
    ETH_SENDER_MISMATCH = "eth_sender_mismatch"
    ETH_SENDER_NOT_ALLOWED = "eth_sender_not_allowed"
    ETH_ONE_WITHDRAWAL_PER_TX = "eth_one_withdrawal_per_tx"
    ETH_CONTRACT_CREATION = "eth_contract_creation"
    ETH_RECIPIENT_MISMATCH = "eth_recipient_mismatch"
    ETH_VALUE_MISMATCH = "eth_value_mismatch"
    ETH_CALLDATA_UNEXPECTED = "eth_calldata_unexpected"
    ETH_CALLDATA_MISMATCH = "eth_calldata_mismatch"
    ETH_TOKEN_CONTRACT_MISMATCH = "eth_token_contract_mismatch"  # noqa: S105 - a code
    ETH_GAS_LIMIT_OVER_CAP = "eth_gas_limit_over_cap"
    ETH_PRIORITY_FEE_ABOVE_MAX_FEE = "eth_priority_fee_above_max_fee"
    ETH_SWEEP_NOT_TO_HOT = "eth_sweep_not_to_hot"
    ETH_TOPUP_NOT_OURS = "eth_topup_not_ours"
    ETH_TOPUP_OVER_CAP = "eth_topup_over_cap"
    # the journal, where a spend is an account's nonce: one nonce, one purpose
    NONCE_REUSED = "nonce_reused"
    # the journal: one intent, one payment
    WITHDRAWAL_ALREADY_SIGNED = "withdrawal_already_signed"
    REPLACEMENT_NOT_CONFLICTING = "replacement_not_conflicting"
    SIGNED_DIFFERENTLY = "signed_differently"


class Refusal(SignerError):
    """A template the signer will not sign: the code names the check, the reason says what failed."""

    def __init__(self, code: RefusalCode, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        # The coordinator stores at most 1000 characters; reasons name public data only.
        self.reason = reason[:1000]
