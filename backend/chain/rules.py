"""The escrow's rules as the deployed OtcEscrow states them: its public constants and fee.

Pages show and check these (the seller's dispute grace, the payment window's bounds, the
fee), so they come from the contract itself rather than from numbers copied into the
frontend. The status and cancel codes are checked against `backend.protocol`, which the
projections use to name them: a contract that numbers them otherwise is refused.
"""

from dataclasses import dataclass

from web3.contract import Contract
from web3.exceptions import Web3Exception

from backend.chain.contracts import ManifestError
from backend.protocol import CancelCode, StatusCode

_CANCEL_CONSTANTS = {"CANCEL_BY_BUYER": CancelCode.BUYER, "CANCEL_EXPIRED": CancelCode.EXPIRED}


@dataclass(frozen=True)
class EscrowRules:
    seller_dispute_grace: int  # seconds after mark_paid before the seller may dispute
    min_payment_window: int  # seconds
    max_payment_window: int  # seconds; also the furthest an extension may push a deadline
    max_fee_bps: int
    fee_bps: int  # the fee when the rules were read; FeeChanged events move it on

    @classmethod
    def read(cls, escrow: Contract) -> "EscrowRules":
        try:
            return cls._read(escrow)
        except (Web3Exception, ValueError) as exc:
            # No contract at the address, or one without these functions: a wrong manifest.
            raise ManifestError(f"cannot read the escrow's rules from {escrow.address}: {exc}") from exc

    @classmethod
    def _read(cls, escrow: Contract) -> "EscrowRules":
        def call(name: str) -> int:
            return escrow.functions[name]().call()

        expected = {f"STATUS_{code.name}": code.value for code in StatusCode}
        expected |= {name: code.value for name, code in _CANCEL_CONSTANTS.items()}
        wrong = [f"{name} is {got}, expected {want}" for name, want in expected.items() if (got := call(name)) != want]
        if wrong:
            raise ManifestError(f"the escrow at {escrow.address} numbers its states otherwise: " + "; ".join(wrong))
        return cls(
            seller_dispute_grace=call("SELLER_DISPUTE_GRACE"),
            min_payment_window=call("MIN_PAYMENT_WINDOW"),
            max_payment_window=call("MAX_PAYMENT_WINDOW"),
            max_fee_bps=call("MAX_FEE_BPS"),
            fee_bps=call("fee_bps"),
        )
