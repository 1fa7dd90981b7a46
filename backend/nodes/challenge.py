"""The admission challenge, shared by the authority (backend) and the candidate (node agent).

Work per packet is hashcash-style: find a counter such that
sha256(nonce || packet || counter) has `difficulty_bits` leading zero bits. The candidate
needs about 2**difficulty_bits hashes per packet; the authority checks each result with
one hash, so it verifies every result in well under a millisecond per challenge while
the candidate spends about a second (the work cannot start before the random packets
and nonce arrive, and the deadline bounds it).

The answer is signed with the node key as EIP-712 typed data over the challenge digest,
the endpoint, the results hash and the hardware report hash.
"""

import hashlib
import json
import time

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak

COUNTER_BYTES = 8
DOMAIN_NAME = "Sentinel OTC Nodes"
DOMAIN_VERSION = "1"
ANSWER_TYPE = [
    {"name": "challengeDigest", "type": "bytes32"},
    {"name": "candidate", "type": "address"},
    {"name": "endpoint", "type": "string"},
    {"name": "resultsHash", "type": "bytes32"},
    {"name": "reportHash", "type": "bytes32"},
]


def _hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def meets(nonce: bytes, packet: bytes, counter: int, difficulty_bits: int) -> bool:
    if not 0 <= counter < 2 ** (8 * COUNTER_BYTES):
        return False
    digest = hashlib.sha256(nonce + packet + counter.to_bytes(COUNTER_BYTES, "big")).digest()
    return int.from_bytes(digest, "big") >> (256 - difficulty_bits) == 0


def solve_packet(nonce: bytes, packet: bytes, difficulty_bits: int) -> int:
    # The shared prefix is hashed once; each try copies its state and adds the counter.
    prefix = hashlib.sha256(nonce + packet)
    shift = 256 - difficulty_bits
    counter = 0
    while True:
        h = prefix.copy()
        h.update(counter.to_bytes(COUNTER_BYTES, "big"))
        if int.from_bytes(h.digest(), "big") >> shift == 0:
            return counter
        counter += 1


def solve(*, nonce: str, packets: list[str], difficulty_bits: int) -> list[int]:
    n = _hex(nonce)
    return [solve_packet(n, _hex(p), difficulty_bits) for p in packets]


def first_wrong(*, nonce: str, packets: list[str], difficulty_bits: int, results: list[int]) -> int | None:
    """The index of the first result that does not do the work, or None when all do."""
    n = _hex(nonce)
    for index, (packet, counter) in enumerate(zip(packets, results, strict=True)):
        if not meets(n, _hex(packet), counter, difficulty_bits):
            return index
    return None


def results_hash(results: list[int]) -> str:
    return "0x" + keccak(b"".join(c.to_bytes(COUNTER_BYTES, "big") for c in results)).hex()


def canonical_json(value: dict) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def report_hash(report: dict) -> str:
    """The hash of a hardware report (its JSON form with sorted keys, no spaces)."""
    return "0x" + keccak(canonical_json(report)).hex()


def challenge_digest(
    *,
    chain_id: int,
    registry: str,
    challenge_id: str,
    candidate: str,
    authority: str,
    nonce: str,
    packets: list[str],
    difficulty_bits: int,
    deadline_ms: int,
) -> str:
    """What goes on chain as the challenge the node passed: it binds every parameter."""
    packed = keccak(b"".join(_hex(p) for p in packets))
    encoded = abi_encode(
        ["uint256", "address", "bytes32", "address", "address", "bytes32", "bytes32", "uint256", "uint256"],
        [
            chain_id,
            registry,
            keccak(text=challenge_id),
            candidate,
            authority,
            _hex(nonce),
            packed,
            difficulty_bits,
            deadline_ms,
        ],
    )
    return "0x" + keccak(encoded).hex()


def answer_typed_data(
    *, chain_id: int, registry: str, digest: str, candidate: str, endpoint: str, results: str, report: str
) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "NodeAnswer": ANSWER_TYPE,
        },
        "primaryType": "NodeAnswer",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": registry,
        },
        "message": {
            "challengeDigest": digest,
            "candidate": candidate,
            "endpoint": endpoint,
            "resultsHash": results,
            "reportHash": report,
        },
    }


def sign_typed(key, data: dict) -> str:
    return Account.sign_message(encode_typed_data(full_message=data), key).signature.to_0x_hex()


def recover_typed(data: dict, signature: str) -> str | None:
    try:
        return Account.recover_message(encode_typed_data(full_message=data), signature=signature)
    except Exception:  # r/s/v out of range: no key signed this
        return None


# ------------------------------------------------------------- heartbeats


def heartbeat_message(*, chain_id: int, node: str, endpoint: str, sent_at: int) -> str:
    """The EIP-191 text a node signs for a heartbeat; sent_at (unix ms) only ever grows."""
    return f"Sentinel OTC node heartbeat\nchain {chain_id}\nnode {node}\nendpoint {endpoint}\nsent_at {sent_at}"


def sign_heartbeat(key, *, chain_id: int, node: str, endpoint: str, sent_at: int) -> str:
    text = heartbeat_message(chain_id=chain_id, node=node, endpoint=endpoint, sent_at=sent_at)
    return Account.sign_message(encode_defunct(text=text), key).signature.to_0x_hex()


def recover_heartbeat(*, chain_id: int, node: str, endpoint: str, sent_at: int, signature: str) -> str | None:
    text = heartbeat_message(chain_id=chain_id, node=node, endpoint=endpoint, sent_at=sent_at)
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:
        return None


def now_ms() -> int:
    return int(time.time() * 1000)
