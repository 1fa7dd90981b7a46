"""Column types shared by the domains."""

from typing import Annotated

from pydantic import PlainSerializer
from sqlalchemy import BigInteger, String
from sqlalchemy.types import TypeDecorator

UINT256_DIGITS = 78


class Uint256(TypeDecorator):
    """A uint256 stored as zero-padded decimal text.

    Token amounts overflow SQLite's 64-bit integers, and a float loses them; padded to a
    fixed width, text compares and sorts like the number on SQLite and PostgreSQL alike.
    """

    impl = String(UINT256_DIGITS)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = int(value)
        if value < 0 or value >= 2**256:
            raise ValueError("uint256 out of range")
        return str(value).zfill(UINT256_DIGITS)

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


# A uint256 in API responses: JSON numbers lose precision past 2**53, so it goes out as text.
Amount = Annotated[int, PlainSerializer(str, return_type=str, when_used="json")]


class Bitmask64(TypeDecorator):
    """A uint64 bitmask in a signed 64-bit column (two's complement).

    Bitwise AND gives the same bits either way, so `mask & wanted != 0` filters work
    in SQL on SQLite and PostgreSQL, and bit 63 does not overflow the column.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = int(value)
        if value < 0 or value >= 2**64:
            raise ValueError("bitmask out of uint64 range")
        return value - 2**64 if value >= 2**63 else value

    def process_result_value(self, value, dialect):
        return None if value is None else value % 2**64
