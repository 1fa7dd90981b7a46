"""The OtcEscrow contract's own vocabulary, named once for every domain that speaks it."""

from enum import IntEnum, StrEnum


class OrderStatus(StrEnum):
    """An order's state as the projections store it; `from_code` maps the contract's uint8."""

    OPEN = "OPEN"
    PAID = "PAID"
    RELEASED = "RELEASED"
    CANCELLED = "CANCELLED"
    DISPUTED = "DISPUTED"
    RESOLVED = "RESOLVED"

    @classmethod
    def from_code(cls, code: int) -> "OrderStatus":
        return _STATUS_BY_CODE[code]

    @property
    def code(self) -> int:
        return _CODE_BY_STATUS[self]

    @property
    def ended(self) -> bool:
        return self in (OrderStatus.RELEASED, OrderStatus.CANCELLED, OrderStatus.RESOLVED)


class CancelReason(StrEnum):
    """Why an order was cancelled (`OrderCancelled.reason`)."""

    BUYER = "buyer"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @classmethod
    def from_code(cls, code: int) -> "CancelReason":
        known = {c.value for c in CancelCode}
        return cls[CancelCode(code).name] if code in known else cls.UNKNOWN


class Side(StrEnum):
    """Which side an ad is (a seller's offer or a buyer's request); an order has its ad's side.
    `from_code` maps the contract's SIDE_* constants (`AdCreated.side`)."""

    SELL = "sell"
    BUY = "buy"

    @classmethod
    def from_code(cls, code: int) -> "Side":
        return cls[SideCode(code).name]


class SideCode(IntEnum):
    """The contract's SIDE_* constants."""

    SELL = 1
    BUY = 2


class StatusCode(IntEnum):
    """The contract's STATUS_* constants."""

    OPEN = 1
    PAID = 2
    RELEASED = 3
    CANCELLED = 4
    DISPUTED = 5
    RESOLVED = 6


class CancelCode(IntEnum):
    """The contract's CANCEL_* constants."""

    BUYER = 1
    EXPIRED = 2


_STATUS_BY_CODE = {code.value: OrderStatus[code.name] for code in StatusCode}
_CODE_BY_STATUS = {status: code for code, status in _STATUS_BY_CODE.items()}

ENDED_STATUSES = tuple(s for s in OrderStatus if s.ended)
