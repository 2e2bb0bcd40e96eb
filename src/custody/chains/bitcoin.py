"""Bitcoin-family (Bitcoin, Litecoin) network parameters and the address codec for them."""

import hashlib
from dataclasses import dataclass

import coincurve
from embit.hashes import ripemd160 as _ripemd160

from custody.chains import base58, bech32
from custody.chains.errors import AddressError, UnknownNetworkError

# Longest valid form is a 90-character bech32 string; the bound also keeps the quadratic
# base58 decoder away from huge inputs.
MAX_ADDRESS_LENGTH = 90

_OP_0, _OP_1 = 0x00, 0x51
_P2PKH_HEAD, _P2PKH_TAIL = b"\x76\xa9\x14", b"\x88\xac"  # DUP HASH160 <20> ... EQUALVERIFY CHECKSIG
_P2SH_HEAD, _P2SH_TAIL = b"\xa9\x14", b"\x87"  # HASH160 <20> ... EQUAL
# (witness version, program length) of the kinds we pay to: P2WPKH, P2WSH, P2TR. Other
# versions are valid addresses (BIP350) but unspendable-by-anyone-yet outputs would burn funds.
_SUPPORTED_WITNESS = frozenset({(0, 20), (0, 32), (1, 32)})


@dataclass(frozen=True)
class BitcoinNetwork:
    """Parameters of one Bitcoin-family network; the first p2sh prefix is the one we encode."""

    name: str
    coin: str
    bech32_hrp: str
    p2pkh_prefix: int
    p2sh_prefixes: tuple[int, ...]
    wif_prefix: int
    bip32_coin_type: int
    bip84_xpub_version: bytes
    bip84_xprv_version: bytes

    @property
    def p2sh_prefix(self) -> int:
        """The version byte used when encoding P2SH addresses."""
        return self.p2sh_prefixes[0]


# SLIP-132 zpub/zprv and vpub/vprv. Litecoin has no registered native-segwit prefix of its
# own; Litecoin wallets (Electrum-LTC, Trezor) use the Bitcoin ones.
_ZPUB, _ZPRV = bytes.fromhex("04b24746"), bytes.fromhex("04b2430c")
_VPUB, _VPRV = bytes.fromhex("045f1cf6"), bytes.fromhex("045f18bc")

# Columns: name, coin, bech32 hrp, p2pkh, p2sh (encode with the first), wif, BIP32 coin type,
# BIP84 extended public/private key versions.
NETWORKS: dict[str, BitcoinNetwork] = {
    "btc-main": BitcoinNetwork("btc-main", "BTC", "bc", 0x00, (0x05,), 0x80, 0, _ZPUB, _ZPRV),
    "btc-test": BitcoinNetwork("btc-test", "BTC", "tb", 0x6F, (0xC4,), 0xEF, 1, _VPUB, _VPRV),
    "btc-regtest": BitcoinNetwork(
        "btc-regtest", "BTC", "bcrt", 0x6F, (0xC4,), 0xEF, 1, _VPUB, _VPRV
    ),
    # Litecoin moved P2SH to 0x32 ('M...') / 0x3a ('Q...') but still accepts the old 0x05 /
    # 0xc4, which are Bitcoin's: such an address is valid on both chains.
    "ltc-main": BitcoinNetwork("ltc-main", "LTC", "ltc", 0x30, (0x32, 0x05), 0xB0, 2, _ZPUB, _ZPRV),
    "ltc-test": BitcoinNetwork(
        "ltc-test", "LTC", "tltc", 0x6F, (0x3A, 0xC4), 0xEF, 1, _VPUB, _VPRV
    ),
    "ltc-regtest": BitcoinNetwork(
        "ltc-regtest", "LTC", "rltc", 0x6F, (0x3A, 0xC4), 0xEF, 1, _VPUB, _VPRV
    ),
}


def network(name: str) -> BitcoinNetwork:
    """The network called `name`, or UnknownNetworkError listing the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise UnknownNetworkError(
            f"unknown bitcoin-family network {name!r} (known: {known})"
        ) from None


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)); embit falls back to pure Python where OpenSSL 3 lacks RIPEMD."""
    return bytes(_ripemd160(hashlib.sha256(data).digest()))


def _other_network_error(net: BitcoinNetwork, owners: list[str], what: str) -> AddressError:
    if owners:
        return AddressError(
            f"address belongs to another network ({', '.join(owners)}), expected {net.name}"
        )
    return AddressError(f"unknown {what} for network {net.name}")


def _witness_script(version: int, program: bytes) -> bytes:
    return bytes([_OP_1 + version - 1 if version else _OP_0, len(program)]) + program


def _segwit_script(net: BitcoinNetwork, hrp: str, address: str) -> bytes:
    if hrp != net.bech32_hrp:
        owners = [n.name for n in NETWORKS.values() if n.bech32_hrp == hrp]
        raise _other_network_error(net, owners, f"bech32 human-readable part {hrp!r}")
    version, program = bech32.decode_segwit(hrp, address)
    if (version, len(program)) not in _SUPPORTED_WITNESS:
        raise AddressError(
            f"witness version {version} with a {len(program)}-byte program is not a supported "
            "output kind (P2WPKH, P2WSH, P2TR)"
        )
    return _witness_script(version, program)


def _looks_bech32(address: str) -> bool:
    pos = address.rfind("1")
    return pos > 0 and any(address[:pos].lower() == n.bech32_hrp for n in NETWORKS.values())


def _base58_payload(address: str, bech32_error: AddressError) -> bytes:
    try:
        return base58.b58check_decode(address)
    except AddressError:
        # A string that starts like one of our bech32 addresses was meant as one: the bech32
        # reason (bad checksum, mixed case...) is the useful one to report.
        if _looks_bech32(address):
            raise bech32_error from None
        raise


def _base58_script(net: BitcoinNetwork, payload: bytes) -> bytes:
    if len(payload) != 21:
        raise AddressError(f"base58 address payload is {len(payload)} bytes, expected 21")
    version, digest = payload[0], payload[1:]
    if version == net.p2pkh_prefix:
        return _P2PKH_HEAD + digest + _P2PKH_TAIL
    if version in net.p2sh_prefixes:
        return _P2SH_HEAD + digest + _P2SH_TAIL
    owners = [
        n.name for n in NETWORKS.values() if version == n.p2pkh_prefix or version in n.p2sh_prefixes
    ]
    raise _other_network_error(net, owners, f"base58 address version 0x{version:02x}")


def _parse(net: BitcoinNetwork, address: str) -> tuple[bytes, str]:
    """(scriptPubKey, normalized address): bech32 addresses are lower-cased, base58 kept."""
    if len(address) > MAX_ADDRESS_LENGTH:
        raise AddressError(f"address is {len(address)} characters, longer than any address")
    try:
        hrp, _, _ = bech32.decode(address)
    except AddressError as bech32_error:
        payload = _base58_payload(address, bech32_error)
        return _base58_script(net, payload), address
    return _segwit_script(net, hrp, address), address.lower()


def script_pubkey(net: BitcoinNetwork, address: str) -> bytes:
    """The output script paying `address` (P2PKH, P2SH, P2WPKH, P2WSH or P2TR) on `net`."""
    return _parse(net, address)[0]


def address_from_script(net: BitcoinNetwork, script: bytes) -> str | None:
    """The address of a P2PKH, P2SH, P2WPKH, P2WSH or P2TR script on `net`; None otherwise."""
    size = len(script)
    if size == 25 and script.startswith(_P2PKH_HEAD) and script.endswith(_P2PKH_TAIL):
        return base58.b58check_encode(bytes([net.p2pkh_prefix]) + script[3:23])
    if size == 23 and script.startswith(_P2SH_HEAD) and script.endswith(_P2SH_TAIL):
        return base58.b58check_encode(bytes([net.p2sh_prefix]) + script[2:22])
    if size in (22, 34) and script[0] == _OP_0 and script[1] == size - 2:
        return bech32.encode_segwit(net.bech32_hrp, 0, script[2:])
    if size == 34 and script[0] == _OP_1 and script[1] == 32:
        return bech32.encode_segwit(net.bech32_hrp, 1, script[2:])
    return None


def p2wpkh_address(net: BitcoinNetwork, compressed_pubkey: bytes) -> str:
    """The native segwit (BIP84) address of a compressed secp256k1 public key."""
    if len(compressed_pubkey) != 33 or compressed_pubkey[0] not in (2, 3):
        raise AddressError("P2WPKH needs a 33-byte compressed public key (02/03 prefix)")
    try:
        coincurve.PublicKey(compressed_pubkey)
    except ValueError as e:
        # A hash of a point that is not on the curve could never be spent.
        raise AddressError("public key is not a point on secp256k1") from e
    return bech32.encode_segwit(net.bech32_hrp, 0, hash160(compressed_pubkey))


def validate_address(net_name: str, address: str) -> str:
    """Check that `address` is payable on network `net_name`; return it normalized."""
    return _parse(network(net_name), address)[1]
