"""The hash chain of a negotiation transcript: pure functions, no database.

Each message commits to its predecessor, so the head hash alone pins the whole
transcript; that head is what a party puts into dispute evidence. The chain starts
from a per-order genesis, so the transcript of one order cannot pass for another's.
"""

from collections.abc import Iterable
from typing import Protocol

from eth_abi import encode
from eth_abi.exceptions import EncodingError
from eth_utils import keccak

DOMAIN = "sentinel-otc/chat"
MESSAGE_TYPES = ["uint256", "uint256", "address", "uint256", "string", "bytes32"]


class StoredMessage(Protocol):
    order_id: int
    seq: int
    sender: str
    created_at: int
    body: str
    prev_hash: str
    hash: str


def genesis(order_id: int) -> str:
    """The prev_hash of an order's first message."""
    return "0x" + keccak(encode(["string", "uint256"], [DOMAIN, order_id])).hex()


def message_hash(*, order_id: int, seq: int, sender: str, created_at: int, body: str, prev_hash: str) -> str:
    encoded = encode(
        MESSAGE_TYPES,
        [order_id, seq, sender.lower(), created_at, body, bytes.fromhex(prev_hash.removeprefix("0x"))],
    )
    return "0x" + keccak(encoded).hex()


def head(order_id: int, messages: list[StoredMessage]) -> str:
    return messages[-1].hash if messages else genesis(order_id)


def verify(messages: Iterable[StoredMessage]) -> tuple[bool, int | None]:
    """Recompute the chain from the stored fields, in seq order.

    Returns (valid, seq of the first message that does not fit). A message fails if its
    seq is out of order, it belongs to another order, its prev_hash is not the previous
    message's hash, or its own hash does not match its fields.
    """
    ordered = sorted(messages, key=lambda m: m.seq)
    if not ordered:
        return True, None
    order_id = ordered[0].order_id
    expected_prev = genesis(order_id)
    for expected_seq, message in enumerate(ordered, start=1):
        if message.seq != expected_seq or message.order_id != order_id or message.prev_hash != expected_prev:
            return False, message.seq
        try:
            recomputed = message_hash(
                order_id=message.order_id,
                seq=message.seq,
                sender=message.sender,
                created_at=message.created_at,
                body=message.body,
                prev_hash=message.prev_hash,
            )
        except (EncodingError, ValueError, TypeError, OverflowError):  # a field tampered into something unencodable
            return False, message.seq
        if recomputed != message.hash:
            return False, message.seq
        expected_prev = message.hash
    return True, None
