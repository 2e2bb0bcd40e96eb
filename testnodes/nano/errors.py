"""The node's RPC error texts, verbatim (nano/lib/errors.cpp, nano/node/json_handler.cpp)."""

from __future__ import annotations

# json_handler / error_blocks, error_rpc, error_common
BLOCK_INVALID = "Block is invalid"
WORK_LOW = "Block work is less than threshold"
SUBTYPE_BALANCE = "Invalid block balance for given subtype"
SUBTYPE_PREVIOUS = "Invalid previous block for given subtype"
SUBTYPE_UNKNOWN = "Invalid block subtype"
SUBTYPE_EPOCH_LINK = "Invalid epoch link"
BLOCK_NOT_FOUND = "Block not found"
INVALID_BLOCK_HASH = "Invalid block hash"  # hash_impl (single `hash` argument)
BAD_HASH_NUMBER = "Bad hash number"  # hashes in lists (blocks_info) and account_history head
ACCOUNT_NOT_FOUND = "Account not found"
BAD_ACCOUNT = "Bad account number"
BAD_THRESHOLD = "Bad threshold number"
BAD_WORK = "Bad work"
BAD_DIFFICULTY = "Bad difficulty"
BAD_MULTIPLIER = "Bad multiplier"
BAD_WORK_VERSION = "Bad work version"
DIFFICULTY_LIMIT = "Difficulty above config limit or below publish threshold"
BLOCK_ROOT_MISMATCH = "Root mismatch for block"
BLOCK_WORK_ENOUGH = "Provided work is already enough for given difficulty"
INVALID_COUNT = "Invalid count"
INVALID_OFFSET = "Invalid offset"
UNKNOWN_COMMAND = "Unknown command"
UNPARSABLE = "Unable to parse JSON"  # also what a missing required argument produces

# ledger results, as `process` words them (error_process)
OLD = "Old block"
BAD_SIGNATURE = "Bad signature"
# nano_node's errors.cpp words opened_burn_account "Burning account"; the notes quote the
# enum comment ("Block attempts to open the burn account"), which is rsnano's RPC text.
BURN_ACCOUNT = "Burning account"
FORK = "Fork"
GAP_PREVIOUS = "Gap previous block"
GAP_SOURCE = "Gap source block"
UNRECEIVABLE = "Unreceivable"
BALANCE_MISMATCH = "Balance and amount delta do not match"
BLOCK_POSITION = "This block cannot follow the previous block"
INSUFFICIENT_WORK = "Block work is insufficient"


class RpcError(Exception):
    """An answer `{"error": message}`; message is one of the texts above or a peer_ error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
