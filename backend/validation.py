"""Request field types shared by the domains: each rejects bad input with a clear message."""

import re
from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import Path
from pydantic import AfterValidator, Field

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_UINT = re.compile(r"^[0-9]{1,78}$")


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError("not an address: expected 0x followed by 40 hex digits")
    return to_checksum_address(value)


def _hash32(value: str) -> str:
    if not _HASH32.match(value):
        raise ValueError("not a 32-byte hash: expected 0x followed by 64 hex digits")
    return value.lower()


def _uint256(value: str) -> str:
    if not _UINT.match(value) or int(value) >= 2**256:
        raise ValueError("not a token amount: expected a non-negative whole number in base units")
    return str(int(value))


Address = Annotated[str, Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]), AfterValidator(_address)]
Hash32 = Annotated[str, Field(examples=["0x" + "ab" * 32]), AfterValidator(_hash32)]
Uint256Str = Annotated[str, Field(examples=["100000000"]), AfterValidator(_uint256)]
# A row or on-chain id in a URL path: what the database's signed 64-bit integers hold, so
# a larger number is a 422, never an overflow in the driver.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def parse_address(value: str) -> str | None:
    return to_checksum_address(value) if _ADDRESS.match(value) else None


def is_hash32(value: str) -> bool:
    return bool(_HASH32.match(value))
