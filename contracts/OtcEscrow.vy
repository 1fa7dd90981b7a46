# pragma version ~=0.4.3
"""
@title OtcEscrow
@notice The ad book and order escrow of Sentinel OTC. A sell ad locks
        the seller's tokens, and buyers open orders against it; a buy
        ad locks nothing, and sellers fill it with orders that lock
        their tokens at that moment. Either way the buyer pays the
        seller off chain, marks the order paid, and the seller releases
        the tokens. Every token the desk holds sits in this contract.
@dev Ads and orders are kept bit-packed in storage (Vyper does not pack
     struct members) and are read and written only through
     `_load_ad` / `_store_ad` and `_load_order` / `_store_order`, so the
     rest of the code works on plain structs. Packing keeps a trade
     to a handful of fresh storage slots.
     The order state machine (the same on both sides of the book):
       open_order | open_sell_order -> OPEN -mark_paid-> PAID -release-> RELEASED
       OPEN|PAID -cancel (buyer)-> CANCELLED (tokens back to a sell ad,
                                        or to the seller of a buy-ad order)
       OPEN -cancel_expired (anyone, past deadline)-> CANCELLED
       PAID -open_dispute-> DISPUTED -resolve_dispute-> RESOLVED
     Pause stops new business (ads, top-ups, orders); it never traps
     funds: settlement, cancels, withdrawals and closing still work.
     Neither can a token that refuses one party (a blocklisted or paused
     recipient): a payout that fails at settlement is credited to the
     recipient, who takes it later with `withdraw_credit`, and the order
     ends all the same. Every function that changes an ad holds the
     reentrancy lock, and every event is logged before the external
     calls of its function, so a token with transfer hooks can neither
     change an ad midway nor make the log order differ from the state
     order.
"""

from ethereum.ercs import IERC20
from ethereum.ercs import IERC165
implements: IERC165

from snekmate.auth.interfaces import IAccessControl
implements: IAccessControl

from snekmate.auth import access_control
initializes: access_control

from snekmate.utils import pausable
initializes: pausable

from snekmate.utils import eip712_domain_separator
initializes: eip712_domain_separator

from snekmate.utils import ecdsa

from .interfaces import IKycRegistry
from .interfaces import INodeRegistry

exports: (
    access_control.__interface__,
    pausable.paused,
    eip712_domain_separator.eip712Domain,
)


# @dev Role that resolves disputes.
ARBITRATOR_ROLE: public(constant(bytes32)) = keccak256("ARBITRATOR_ROLE")
# @dev Role that may pause and unpause new business.
PAUSER_ROLE: public(constant(bytes32)) = keccak256("PAUSER_ROLE")

# @dev Hard cap on the fee: 2%.
MAX_FEE_BPS: public(constant(uint256)) = 200
# @dev Basis points in a whole.
BPS: constant(uint256) = 10_000
# @dev Bounds on an ad's payment window.
MIN_PAYMENT_WINDOW: public(constant(uint256)) = 15 * 60
MAX_PAYMENT_WINDOW: public(constant(uint256)) = 7 * 24 * 3600
# @dev How long a seller waits after `mark_paid` before disputing.
SELLER_DISPUTE_GRACE: public(constant(uint256)) = 3600

# @dev Order statuses.
STATUS_OPEN: public(constant(uint8)) = 1
STATUS_PAID: public(constant(uint8)) = 2
STATUS_RELEASED: public(constant(uint8)) = 3
STATUS_CANCELLED: public(constant(uint8)) = 4
STATUS_DISPUTED: public(constant(uint8)) = 5
STATUS_RESOLVED: public(constant(uint8)) = 6

# @dev Sides of the book: a sell ad offers tokens, a buy ad asks for them.
SIDE_SELL: public(constant(uint8)) = 1
SIDE_BUY: public(constant(uint8)) = 2

# @dev Why an order was cancelled.
CANCEL_BY_BUYER: public(constant(uint8)) = 1
CANCEL_EXPIRED: public(constant(uint8)) = 2

# @dev Kinds of relayed action, as logged in `ActionRelayed`.
ACTION_MARK_PAID: public(constant(uint8)) = 1
ACTION_RELEASE: public(constant(uint8)) = 2
ACTION_CANCEL: public(constant(uint8)) = 3

# @dev EIP-712 type hashes of the actions a node may relay.
MARK_PAID_TYPEHASH: public(constant(bytes32)) = keccak256(
    "MarkPaid(uint256 orderId,bytes32 paymentRef,uint256 nonce,uint256 deadline)"
)
RELEASE_TYPEHASH: public(constant(bytes32)) = keccak256("Release(uint256 orderId,uint256 nonce,uint256 deadline)")
CANCEL_TYPEHASH: public(constant(bytes32)) = keccak256("Cancel(uint256 orderId,uint256 nonce,uint256 deadline)")

# @dev Widths of the packed fields.
MAX_UINT32: constant(uint256) = 2**32 - 1
MAX_UINT40: constant(uint256) = 2**40 - 1
MAX_UINT64: constant(uint256) = 2**64 - 1
MAX_UINT96: constant(uint256) = 2**96 - 1
MAX_UINT128: constant(uint256) = 2**128 - 1
MAX_ADDRESS: constant(uint256) = 2**160 - 1

# @dev Ad flags.
AD_ACTIVE: constant(uint256) = 1
AD_CLOSED: constant(uint256) = 2
AD_BUY: constant(uint256) = 4


# @dev The KYC registry consulted when KYC is required.
kyc_registry: public(immutable(IKycRegistry))
# @dev The node registry that says who may relay.
node_registry: public(immutable(INodeRegistry))


struct Ad:
    maker: address
    token: address
    available: uint256
    locked: uint256
    price: uint256
    fiat: bytes3
    min_amount: uint256
    max_amount: uint256
    payment_window: uint256
    payment_methods: uint256
    active: bool
    closed: bool
    side: uint8


# @dev An order as `orders()` shows it: both parties by name.
struct OrderView:
    buyer: address
    status: uint8
    deadline: uint256
    paid_at: uint256
    ad_id: uint256
    amount: uint256
    price: uint256
    fee_bps: uint256
    seller: address


# @dev An order as the code works on it: the party who opened it (the
#      buyer on a sell ad, the seller on a buy ad) and the side.
struct Order:
    taker: address
    on_buy_ad: bool
    status: uint8
    deadline: uint256
    paid_at: uint256
    ad_id: uint256
    amount: uint256
    price: uint256
    fee_bps: uint256


# @dev Storage form of an ad: four words.
#   head:    maker (160) | payment_window (32) | fiat (24) | flags (8)
#   asset:   token (160) | payment_methods (64)
#   balance: available (128) | locked (128)
#   terms:   price (64) | min_amount (96) | max_amount (96)
struct PackedAd:
    head: uint256
    asset: uint256
    balance: uint256
    terms: uint256


# @dev Storage form of an order: two words.
#   head: taker (160) | status (8) | deadline (40) | paid_at (40) | on_buy_ad (8)
#   deal: ad_id (64) | amount (96) | price (64) | fee_bps (16)
struct PackedOrder:
    head: uint256
    deal: uint256


# @dev Ads by id, starting at 1.
_ads: HashMap[uint256, PackedAd]
# @dev The id the next ad gets. Set to 1 at deploy so that the first
#      ad pays for a nonzero-to-nonzero write, not a fresh slot.
_next_ad_id: uint256
# @dev Orders by id, starting at 1.
_orders: HashMap[uint256, PackedOrder]
# @dev The id the next order gets; set to 1 at deploy, as `_next_ad_id`.
_next_order_id: uint256
# @dev Fee on each release, in basis points of the amount.
fee_bps: public(uint256)
# @dev Who receives the fees.
fee_recipient: public(address)
# @dev Fees collected and not yet withdrawn, by token.
accrued_fees: public(HashMap[address, uint256])
# @dev Payouts a token refused, by recipient and token, waiting for
#      `withdraw_credit`.
credits: public(HashMap[address, HashMap[address, uint256]])
# @dev Tokens that may be traded.
token_allowed: public(HashMap[address, bool])
# @dev Minimum KYC level for both parties; 0 means KYC is not required.
kyc_min_level: public(uint8)
# @dev Next relay nonce of each user.
nonces: public(HashMap[address, uint256])


# @dev Emitted when an ad is posted: a sell ad's tokens are pulled in;
#      a buy ad's `amount` is what its maker wants to buy.
event AdCreated:
    ad_id: indexed(uint256)
    maker: indexed(address)
    token: indexed(address)
    amount: uint256
    price: uint256
    fiat: bytes3
    min_amount: uint256
    max_amount: uint256
    payment_window: uint256
    payment_methods: uint256
    terms_hash: bytes32
    side: uint8


# @dev Emitted when a maker adds to an ad (tokens to a sell ad, wanted
#      amount to a buy ad).
event AdToppedUp:
    ad_id: indexed(uint256)
    maker: indexed(address)
    amount: uint256


# @dev Emitted when a maker changes an ad's terms.
event AdUpdated:
    ad_id: indexed(uint256)
    maker: indexed(address)
    price: uint256
    min_amount: uint256
    max_amount: uint256
    payment_window: uint256
    payment_methods: uint256
    terms_hash: bytes32


# @dev Emitted when a maker pauses an ad.
event AdPaused:
    ad_id: indexed(uint256)
    maker: indexed(address)


# @dev Emitted when a maker resumes an ad.
event AdResumed:
    ad_id: indexed(uint256)
    maker: indexed(address)


# @dev Emitted when a maker takes unlocked tokens out of a sell ad (or
#      lowers what a buy ad still wants).
event AdWithdrawn:
    ad_id: indexed(uint256)
    maker: indexed(address)
    amount: uint256


# @dev Emitted when a maker closes an ad; `refunded` went back to them
#      (always 0 for a buy ad, which holds no tokens of its own).
event AdClosed:
    ad_id: indexed(uint256)
    maker: indexed(address)
    refunded: uint256


# @dev Emitted when an order opens (a buyer on a sell ad, or a seller on
#      a buy ad); the amount is locked.
event OrderOpened:
    order_id: indexed(uint256)
    ad_id: indexed(uint256)
    buyer: indexed(address)
    seller: address
    amount: uint256
    price: uint256
    deadline: uint256


# @dev Emitted when the buyer declares the fiat payment made.
event OrderPaid:
    order_id: indexed(uint256)
    buyer: indexed(address)
    payment_ref: bytes32


# @dev Emitted when the seller releases; the buyer got `amount - fee`.
event OrderReleased:
    order_id: indexed(uint256)
    seller: indexed(address)
    buyer: indexed(address)
    amount: uint256
    fee: uint256


# @dev Emitted when an order is cancelled; `reason` is a CANCEL_* value.
event OrderCancelled:
    order_id: indexed(uint256)
    by: indexed(address)
    reason: uint8


# @dev Emitted when the seller gives the buyer more time to pay.
event DeadlineExtended:
    order_id: indexed(uint256)
    deadline: uint256


# @dev Emitted when a party disputes a paid order.
event DisputeOpened:
    order_id: indexed(uint256)
    by: indexed(address)
    evidence_hash: bytes32


# @dev Emitted when the arbitrator splits a disputed order.
event DisputeResolved:
    order_id: indexed(uint256)
    arbitrator: indexed(address)
    buyer_bps: uint256
    buyer_amount: uint256
    seller_amount: uint256
    fee: uint256


# @dev Emitted when an authorized node submits a user's signed action.
event ActionRelayed:
    order_id: indexed(uint256)
    signer: indexed(address)
    relayer: indexed(address)
    action: uint8
    nonce: uint256


# @dev Emitted when a payout the token refused is credited to `account`
#      instead (withdrawable with `withdraw_credit`).
event PayoutCredited:
    account: indexed(address)
    token: indexed(address)
    order_id: indexed(uint256)
    amount: uint256


# @dev Emitted when an account takes out its credited payouts.
event CreditWithdrawn:
    account: indexed(address)
    token: indexed(address)
    amount: uint256


# @dev Emitted when the fee rate changes.
event FeeChanged:
    fee_bps: uint256


# @dev Emitted when the fee recipient changes.
event FeeRecipientChanged:
    fee_recipient: indexed(address)


# @dev Emitted when accrued fees are paid out.
event FeesWithdrawn:
    token: indexed(address)
    recipient: indexed(address)
    amount: uint256


# @dev Emitted when a token is added to or removed from the allowlist.
event TokenAllowlistChanged:
    token: indexed(address)
    allowed: bool


# @dev Emitted when the KYC requirement changes.
event KycRequirementChanged:
    min_level: uint8


@deploy
def __init__(
    kyc_registry_: IKycRegistry, node_registry_: INodeRegistry, fee_recipient_: address, fee_bps_: uint256
):
    """
    @notice The deployer receives the admin role; grant the arbitrator
            and pauser roles separately.
    """
    assert fee_recipient_ != empty(address), "otc_escrow: zero fee recipient"
    assert fee_bps_ <= MAX_FEE_BPS, "otc_escrow: fee above cap"
    access_control.__init__()
    pausable.__init__()
    eip712_domain_separator.__init__("Sentinel OTC", "1")
    kyc_registry = kyc_registry_
    node_registry = node_registry_
    self.fee_recipient = fee_recipient_
    self.fee_bps = fee_bps_
    self._next_ad_id = 1
    self._next_order_id = 1


# ---------------------------------------------------------------- views


@external
@view
def ads(ad_id: uint256) -> Ad:
    """
    @notice The ad `ad_id` (all fields zero when it does not exist).
    """
    return self._load_ad(ad_id)


@external
@view
def orders(order_id: uint256) -> OrderView:
    """
    @notice The order `order_id` (all fields zero when it does not exist).
    """
    order: Order = self._load_order(order_id)
    if order.taker == empty(address):
        return empty(OrderView)
    buyer: address = empty(address)
    seller: address = empty(address)
    buyer, seller = self._parties(order)
    return OrderView(
        buyer=buyer,
        status=order.status,
        deadline=order.deadline,
        paid_at=order.paid_at,
        ad_id=order.ad_id,
        amount=order.amount,
        price=order.price,
        fee_bps=order.fee_bps,
        seller=seller,
    )


@external
@view
def ad_count() -> uint256:
    """
    @notice The id of the last ad (ids start at 1).
    """
    return self._next_ad_id - 1


@external
@view
def order_count() -> uint256:
    """
    @notice The id of the last order (ids start at 1).
    """
    return self._next_order_id - 1


@external
@view
def domain_separator() -> bytes32:
    return eip712_domain_separator._domain_separator_v4()


# ------------------------------------------------------------------ ads


@external
@nonreentrant
def create_ad(
    token: address,
    amount: uint256,
    price: uint256,
    fiat: bytes3,
    min_amount: uint256,
    max_amount: uint256,
    payment_window: uint256,
    payment_methods: uint256,
    terms_hash: bytes32,
) -> uint256:
    """
    @notice Posts an ad selling `amount` of `token` at `price` fiat minor
            units per whole token, pulling the tokens in (approve first).
    @return The new ad's id.
    """
    return self._create_ad(
        token, amount, price, fiat, min_amount, max_amount, payment_window, payment_methods, terms_hash, SIDE_SELL
    )


@external
@nonreentrant
def create_buy_ad(
    token: address,
    amount: uint256,
    price: uint256,
    fiat: bytes3,
    min_amount: uint256,
    max_amount: uint256,
    payment_window: uint256,
    payment_methods: uint256,
    terms_hash: bytes32,
) -> uint256:
    """
    @notice Posts an ad buying up to `amount` of `token` at `price` fiat
            minor units per whole token. Nothing is locked: each seller
            who fills it locks their own tokens with `open_sell_order`.
    @return The new ad's id.
    """
    return self._create_ad(
        token, amount, price, fiat, min_amount, max_amount, payment_window, payment_methods, terms_hash, SIDE_BUY
    )


@external
@nonreentrant
def create_ad_with_permit(
    token: address,
    amount: uint256,
    price: uint256,
    fiat: bytes3,
    min_amount: uint256,
    max_amount: uint256,
    payment_window: uint256,
    payment_methods: uint256,
    terms_hash: bytes32,
    permit_deadline: uint256,
    v: uint8,
    r: bytes32,
    s: bytes32,
) -> uint256:
    """
    @notice `create_ad` in one transaction for a token with EIP-2612
            permit: the seller signs the allowance instead of approving.
    """
    self._permit(token, amount, permit_deadline, v, r, s)
    return self._create_ad(
        token, amount, price, fiat, min_amount, max_amount, payment_window, payment_methods, terms_hash, SIDE_SELL
    )


@external
@nonreentrant
def top_up(ad_id: uint256, amount: uint256):
    """
    @notice Adds `amount` tokens to an open sell ad, or `amount` to what
            an open buy ad wants (nothing is pulled for a buy ad).
    """
    pausable._require_not_paused()
    ad: Ad = self._load_maker_ad(ad_id)
    assert amount != 0, "otc_escrow: zero amount"
    # available + locked is what a cancel or a dispute can bring back to
    # `available`: keep the sum within its 128 bits. A buy ad pulls no
    # tokens, so no token supply bounds it.
    assert ad.available + ad.locked + amount <= MAX_UINT128, "otc_escrow: amount too large"
    ad.available += amount
    self._store_ad(ad_id, ad)
    log AdToppedUp(ad_id=ad_id, maker=msg.sender, amount=amount)
    if ad.side == SIDE_SELL:
        self._pull(ad.token, msg.sender, amount)


@external
@nonreentrant
def update_ad(
    ad_id: uint256,
    price: uint256,
    min_amount: uint256,
    max_amount: uint256,
    payment_window: uint256,
    payment_methods: uint256,
    terms_hash: bytes32,
):
    """
    @notice Changes an open ad's price, limits, window and methods.
            Orders already open keep the terms they were opened with.
    """
    ad: Ad = self._load_maker_ad(ad_id)
    self._check_terms(price, min_amount, max_amount, payment_window, payment_methods)
    ad.price = price
    ad.min_amount = min_amount
    ad.max_amount = max_amount
    ad.payment_window = payment_window
    ad.payment_methods = payment_methods
    self._store_ad(ad_id, ad)
    log AdUpdated(
        ad_id=ad_id,
        maker=msg.sender,
        price=price,
        min_amount=min_amount,
        max_amount=max_amount,
        payment_window=payment_window,
        payment_methods=payment_methods,
        terms_hash=terms_hash,
    )


@external
@nonreentrant
def pause_ad(ad_id: uint256):
    """
    @notice Stops new orders on the ad; open orders carry on.
    """
    ad: Ad = self._load_maker_ad(ad_id)
    assert ad.active, "otc_escrow: ad already paused"
    ad.active = False
    self._store_ad(ad_id, ad)
    log AdPaused(ad_id=ad_id, maker=msg.sender)


@external
@nonreentrant
def resume_ad(ad_id: uint256):
    """
    @notice Takes new orders on the ad again.
    """
    ad: Ad = self._load_maker_ad(ad_id)
    assert not ad.active, "otc_escrow: ad already active"
    ad.active = True
    self._store_ad(ad_id, ad)
    log AdResumed(ad_id=ad_id, maker=msg.sender)


@external
@nonreentrant
def withdraw(ad_id: uint256, amount: uint256):
    """
    @notice Takes `amount` of a sell ad's unlocked tokens back, or lowers
            what a buy ad still wants by `amount`.
    """
    ad: Ad = self._load_maker_ad(ad_id)
    assert amount != 0, "otc_escrow: zero amount"
    assert amount <= ad.available, "otc_escrow: amount exceeds available"
    ad.available -= amount
    self._store_ad(ad_id, ad)
    log AdWithdrawn(ad_id=ad_id, maker=msg.sender, amount=amount)
    if ad.side == SIDE_SELL:
        self._safe_transfer(ad.token, msg.sender, amount)


@external
@nonreentrant
def close_ad(ad_id: uint256):
    """
    @notice Closes the ad for good and returns a sell ad's unlocked
            tokens. Tokens locked in open orders stay until those orders
            end; what a cancel then frees goes straight to the seller.
    """
    ad: Ad = self._load_maker_ad(ad_id)
    refunded: uint256 = 0
    if ad.side == SIDE_SELL:
        refunded = ad.available
    ad.available = 0
    ad.active = False
    ad.closed = True
    self._store_ad(ad_id, ad)
    log AdClosed(ad_id=ad_id, maker=msg.sender, refunded=refunded)
    if refunded != 0:
        self._safe_transfer(ad.token, msg.sender, refunded)


# --------------------------------------------------------------- orders


@external
@nonreentrant
def open_order(ad_id: uint256, amount: uint256, max_price: uint256) -> uint256:
    """
    @notice Buys `amount` tokens from sell ad `ad_id`, failing if the
            price is above `max_price` (the seller may have changed it
            since the buyer looked). Locks the amount until the order ends.
    @return The new order's id.
    """
    ad: Ad = self._load_open_ad(ad_id, amount, SIDE_SELL)
    assert msg.sender != ad.maker, "otc_escrow: seller cannot buy own ad"
    assert ad.price <= max_price, "otc_escrow: price above max_price"
    assert amount <= ad.available, "otc_escrow: amount exceeds available"
    return self._open(ad_id, ad, amount, msg.sender, ad.maker, False)


@external
@nonreentrant
def open_sell_order(ad_id: uint256, amount: uint256, min_price: uint256) -> uint256:
    """
    @notice Sells `amount` tokens to buy ad `ad_id`, failing if the price
            is below `min_price` (the buyer may have changed it since the
            seller looked). Pulls the seller's tokens in (approve first)
            and locks them until the order ends.
    @return The new order's id.
    """
    ad: Ad = self._load_open_ad(ad_id, amount, SIDE_BUY)
    assert msg.sender != ad.maker, "otc_escrow: buyer cannot sell to own ad"
    assert ad.price >= min_price, "otc_escrow: price below min_price"
    assert amount <= ad.available, "otc_escrow: amount exceeds wanted"
    order_id: uint256 = self._open(ad_id, ad, amount, ad.maker, msg.sender, True)
    self._pull(ad.token, msg.sender, amount)
    return order_id


@external
def mark_paid(order_id: uint256, payment_ref: bytes32):
    """
    @notice The buyer declares the fiat payment made; `payment_ref` ties
            the order to the ledger payment. From here the seller cannot
            let the order expire.
    """
    self._mark_paid(order_id, msg.sender, payment_ref)


@external
@nonreentrant
def release(order_id: uint256):
    """
    @notice The seller releases the tokens: the buyer receives the amount
            less the fee.
    """
    self._release(order_id, msg.sender)


@external
@nonreentrant
def cancel(order_id: uint256):
    """
    @notice The buyer cancels an open or paid order; the tokens go back
            to a sell ad, or to the seller who filled a buy ad.
    """
    self._cancel(order_id, msg.sender)


@external
@nonreentrant
def cancel_expired(order_id: uint256):
    """
    @notice Anyone cancels an order left unpaid past its deadline.
    """
    order: Order = self._load_existing_order(order_id)
    assert order.status == STATUS_OPEN, "otc_escrow: order not open"
    assert block.timestamp > order.deadline, "otc_escrow: deadline not reached"
    order.status = STATUS_CANCELLED
    self._store_order(order_id, order)
    log OrderCancelled(order_id=order_id, by=msg.sender, reason=CANCEL_EXPIRED)
    self._unlock(order_id, order)


@external
def extend_deadline(order_id: uint256, extra_seconds: uint256):
    """
    @notice The seller gives the buyer `extra_seconds` more to pay; the
            deadline never goes further than MAX_PAYMENT_WINDOW from now.
    """
    order: Order = self._load_existing_order(order_id)
    assert msg.sender == self._seller_of(order), "otc_escrow: caller is not the seller"
    assert order.status == STATUS_OPEN, "otc_escrow: order not open"
    assert extra_seconds != 0, "otc_escrow: zero extension"
    deadline: uint256 = max(order.deadline, block.timestamp) + extra_seconds
    assert deadline <= block.timestamp + MAX_PAYMENT_WINDOW, "otc_escrow: extension above cap"
    order.deadline = deadline
    self._store_order(order_id, order)
    log DeadlineExtended(order_id=order_id, deadline=deadline)


@external
def open_dispute(order_id: uint256, evidence_hash: bytes32):
    """
    @notice Either party disputes a paid order: the buyer at once, the
            seller after SELLER_DISPUTE_GRACE from `mark_paid`.
    """
    order: Order = self._load_existing_order(order_id)
    assert order.status == STATUS_PAID, "otc_escrow: order not paid"
    assert evidence_hash != empty(bytes32), "otc_escrow: empty evidence hash"
    if msg.sender != self._buyer_of(order):
        assert msg.sender == self._seller_of(order), "otc_escrow: caller is not a party"
        assert block.timestamp >= order.paid_at + SELLER_DISPUTE_GRACE, "otc_escrow: seller dispute grace not over"
    order.status = STATUS_DISPUTED
    self._store_order(order_id, order)
    log DisputeOpened(order_id=order_id, by=msg.sender, evidence_hash=evidence_hash)


@external
@nonreentrant
def resolve_dispute(order_id: uint256, buyer_bps: uint256):
    """
    @notice The arbitrator gives the buyer `buyer_bps` of the amount (less
            the fee on that share); the rest goes back to the seller's sell
            ad, or to the seller who filled a buy ad.
    """
    access_control._check_role(ARBITRATOR_ROLE, msg.sender)
    order: Order = self._load_existing_order(order_id)
    assert order.status == STATUS_DISPUTED, "otc_escrow: order not disputed"
    assert buyer_bps <= BPS, "otc_escrow: buyer_bps above 10000"
    buyer_amount: uint256 = order.amount * buyer_bps // BPS
    seller_amount: uint256 = order.amount - buyer_amount
    fee: uint256 = buyer_amount * order.fee_bps // BPS
    order.status = STATUS_RESOLVED
    self._store_order(order_id, order)

    ad: Ad = self._load_ad(order.ad_id)
    buyer: address = empty(address)
    seller: address = empty(address)
    buyer, seller = self._parties_on(order, ad)
    ad.locked -= order.amount
    # A buy ad wants again what its buyer did not get.
    if not ad.closed:
        ad.available += seller_amount
    refund_seller: bool = (ad.closed or order.on_buy_ad) and seller_amount != 0
    self._store_ad(order.ad_id, ad)
    if fee != 0:
        self.accrued_fees[ad.token] += fee
    log DisputeResolved(
        order_id=order_id,
        arbitrator=msg.sender,
        buyer_bps=buyer_bps,
        buyer_amount=buyer_amount - fee,
        seller_amount=seller_amount,
        fee=fee,
    )
    if buyer_amount != fee:
        self._pay(ad.token, buyer, buyer_amount - fee, order_id)
    if refund_seller:
        self._pay(ad.token, seller, seller_amount, order_id)


# -------------------------------------------------------- relayed actions


@external
def relay_mark_paid(order_id: uint256, payment_ref: bytes32, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice An authorized node submits the buyer's signed `mark_paid`.
    """
    order: Order = self._load_existing_order(order_id)
    struct_hash: bytes32 = keccak256(abi_encode(MARK_PAID_TYPEHASH, order_id, payment_ref, nonce, deadline))
    buyer: address = self._buyer_of(order)
    self._use_signature(struct_hash, buyer, nonce, deadline, signature, order_id, ACTION_MARK_PAID)
    self._mark_paid(order_id, buyer, payment_ref)


@external
@nonreentrant
def relay_release(order_id: uint256, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice An authorized node submits the seller's signed `release`.
    """
    order: Order = self._load_existing_order(order_id)
    seller: address = self._seller_of(order)
    struct_hash: bytes32 = keccak256(abi_encode(RELEASE_TYPEHASH, order_id, nonce, deadline))
    self._use_signature(struct_hash, seller, nonce, deadline, signature, order_id, ACTION_RELEASE)
    self._release(order_id, seller)


@external
@nonreentrant
def relay_cancel(order_id: uint256, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice An authorized node submits the buyer's signed `cancel`.
    """
    order: Order = self._load_existing_order(order_id)
    struct_hash: bytes32 = keccak256(abi_encode(CANCEL_TYPEHASH, order_id, nonce, deadline))
    buyer: address = self._buyer_of(order)
    self._use_signature(struct_hash, buyer, nonce, deadline, signature, order_id, ACTION_CANCEL)
    self._cancel(order_id, buyer)


# ---------------------------------------------------------------- admin


@external
def set_fee(fee_bps_: uint256):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert fee_bps_ <= MAX_FEE_BPS, "otc_escrow: fee above cap"
    self.fee_bps = fee_bps_
    log FeeChanged(fee_bps=fee_bps_)


@external
def set_fee_recipient(fee_recipient_: address):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert fee_recipient_ != empty(address), "otc_escrow: zero fee recipient"
    self.fee_recipient = fee_recipient_
    log FeeRecipientChanged(fee_recipient=fee_recipient_)


@external
@nonreentrant
def withdraw_fees(token: address):
    """
    @notice Pays the accrued fees in `token` to the fee recipient.
    """
    recipient: address = self.fee_recipient
    assert msg.sender == recipient or access_control.hasRole[access_control.DEFAULT_ADMIN_ROLE][msg.sender], (
        "otc_escrow: caller is not fee recipient or admin"
    )
    amount: uint256 = self.accrued_fees[token]
    assert amount != 0, "otc_escrow: no fees to withdraw"
    self.accrued_fees[token] = 0
    log FeesWithdrawn(token=token, recipient=recipient, amount=amount)
    # Fees are already pulled: a recipient the token refuses makes this
    # revert and the fees stay accrued until the admin names another
    # recipient; no trader waits on it.
    self._safe_transfer(token, recipient, amount)


@external
@nonreentrant
def withdraw_credit(token: address):
    """
    @notice Pays the caller the payouts in `token` that were credited
            because the token refused them at settlement (see
            `PayoutCredited`). Reverts, keeping the credit, while the
            token still refuses the caller.
    """
    amount: uint256 = self.credits[msg.sender][token]
    assert amount != 0, "otc_escrow: nothing to withdraw"
    self.credits[msg.sender][token] = 0
    log CreditWithdrawn(account=msg.sender, token=token, amount=amount)
    self._safe_transfer(token, msg.sender, amount)


@external
def set_token_allowed(token: address, allowed: bool):
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert token.is_contract, "otc_escrow: token is not a contract"
    self.token_allowed[token] = allowed
    log TokenAllowlistChanged(token=token, allowed=allowed)


@external
def set_kyc_min_level(min_level: uint8):
    """
    @notice Requires both parties of new ads and orders to hold a KYC
            attestation of at least `min_level`; 0 turns the check off.
    """
    access_control._check_role(access_control.DEFAULT_ADMIN_ROLE, msg.sender)
    assert min_level <= 3, "otc_escrow: kyc level out of range"
    self.kyc_min_level = min_level
    log KycRequirementChanged(min_level=min_level)


@external
def pause():
    access_control._check_role(PAUSER_ROLE, msg.sender)
    pausable._pause()


@external
def unpause():
    access_control._check_role(PAUSER_ROLE, msg.sender)
    pausable._unpause()


# ------------------------------------------------------------- internal


@internal
def _create_ad(
    token: address,
    amount: uint256,
    price: uint256,
    fiat: bytes3,
    min_amount: uint256,
    max_amount: uint256,
    payment_window: uint256,
    payment_methods: uint256,
    terms_hash: bytes32,
    side: uint8,
) -> uint256:
    pausable._require_not_paused()
    assert self.token_allowed[token], "otc_escrow: token not allowed"
    assert amount != 0, "otc_escrow: zero amount"
    assert amount <= MAX_UINT128, "otc_escrow: amount too large"
    assert fiat != empty(bytes3), "otc_escrow: empty fiat code"
    self._check_terms(price, min_amount, max_amount, payment_window, payment_methods)
    self._check_kyc(msg.sender)

    ad_id: uint256 = self._next_ad_id
    self._next_ad_id = ad_id + 1
    self._store_ad(
        ad_id,
        Ad(
            maker=msg.sender,
            token=token,
            available=amount,
            locked=0,
            price=price,
            fiat=fiat,
            min_amount=min_amount,
            max_amount=max_amount,
            payment_window=payment_window,
            payment_methods=payment_methods,
            active=True,
            closed=False,
            side=side,
        ),
    )
    log AdCreated(
        ad_id=ad_id,
        maker=msg.sender,
        token=token,
        amount=amount,
        price=price,
        fiat=fiat,
        min_amount=min_amount,
        max_amount=max_amount,
        payment_window=payment_window,
        payment_methods=payment_methods,
        terms_hash=terms_hash,
        side=side,
    )
    if side == SIDE_SELL:
        self._pull(token, msg.sender, amount)
    return ad_id


@internal
def _mark_paid(order_id: uint256, actor: address, payment_ref: bytes32):
    order: Order = self._load_existing_order(order_id)
    assert actor == self._buyer_of(order), "otc_escrow: caller is not the buyer"
    assert order.status == STATUS_OPEN, "otc_escrow: order not open"
    assert block.timestamp <= order.deadline, "otc_escrow: payment deadline passed"
    assert payment_ref != empty(bytes32), "otc_escrow: empty payment reference"
    order.status = STATUS_PAID
    order.paid_at = block.timestamp
    self._store_order(order_id, order)
    log OrderPaid(order_id=order_id, buyer=actor, payment_ref=payment_ref)


@internal
def _release(order_id: uint256, actor: address):
    order: Order = self._load_existing_order(order_id)
    assert order.status == STATUS_OPEN or order.status == STATUS_PAID, "otc_escrow: order not releasable"
    ad: Ad = self._load_ad(order.ad_id)
    buyer: address = empty(address)
    seller: address = empty(address)
    buyer, seller = self._parties_on(order, ad)
    assert actor == seller, "otc_escrow: caller is not the seller"
    order.status = STATUS_RELEASED
    self._store_order(order_id, order)
    ad.locked -= order.amount
    self._store_ad(order.ad_id, ad)
    fee: uint256 = order.amount * order.fee_bps // BPS
    if fee != 0:
        self.accrued_fees[ad.token] += fee
    log OrderReleased(order_id=order_id, seller=actor, buyer=buyer, amount=order.amount, fee=fee)
    self._pay(ad.token, buyer, order.amount - fee, order_id)


@internal
def _cancel(order_id: uint256, actor: address):
    order: Order = self._load_existing_order(order_id)
    assert actor == self._buyer_of(order), "otc_escrow: caller is not the buyer"
    assert order.status == STATUS_OPEN or order.status == STATUS_PAID, "otc_escrow: order not cancellable"
    order.status = STATUS_CANCELLED
    self._store_order(order_id, order)
    log OrderCancelled(order_id=order_id, by=actor, reason=CANCEL_BY_BUYER)
    self._unlock(order_id, order)


@internal
def _unlock(order_id: uint256, order: Order):
    # A cancelled order's tokens go back on sale, unless the seller has
    # closed the ad: then they go straight back to the seller (or to the
    # seller's credit, so a seller the token refuses cannot hold the
    # buyer's cancel hostage). A buy-ad order's tokens are the seller's
    # own and always go back to them; the buy ad wants that amount again.
    ad: Ad = self._load_ad(order.ad_id)
    ad.locked -= order.amount
    if not ad.closed:
        ad.available += order.amount
    self._store_ad(order.ad_id, ad)
    if order.on_buy_ad:
        self._pay(ad.token, order.taker, order.amount, order_id)
    elif ad.closed:
        self._pay(ad.token, ad.maker, order.amount, order_id)


@internal
def _use_signature(
    struct_hash: bytes32,
    signer: address,
    nonce: uint256,
    deadline: uint256,
    signature: Bytes[65],
    order_id: uint256,
    action: uint8,
):
    assert staticcall node_registry.is_authorized(msg.sender), "otc_escrow: relayer not authorized"
    assert block.timestamp <= deadline, "otc_escrow: signature expired"
    assert nonce == self.nonces[signer], "otc_escrow: invalid nonce"
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(struct_hash)
    assert ecdsa._recover_sig(digest, signature) == signer, "otc_escrow: invalid signature"
    self.nonces[signer] = nonce + 1
    log ActionRelayed(order_id=order_id, signer=signer, relayer=msg.sender, action=action, nonce=nonce)


@internal
@view
def _check_kyc(account: address):
    min_level: uint8 = self.kyc_min_level
    if min_level != 0:
        assert staticcall kyc_registry.is_verified(account, min_level), "otc_escrow: kyc required"


@internal
@pure
def _check_terms(
    price: uint256, min_amount: uint256, max_amount: uint256, payment_window: uint256, payment_methods: uint256
):
    assert price != 0, "otc_escrow: zero price"
    assert price <= MAX_UINT64, "otc_escrow: price too large"
    assert min_amount != 0, "otc_escrow: zero min amount"
    assert min_amount <= max_amount, "otc_escrow: min above max"
    assert max_amount <= MAX_UINT96, "otc_escrow: max amount too large"
    assert payment_window >= MIN_PAYMENT_WINDOW, "otc_escrow: payment window too short"
    assert payment_window <= MAX_PAYMENT_WINDOW, "otc_escrow: payment window too long"
    assert payment_methods != 0, "otc_escrow: no payment method"
    assert payment_methods <= MAX_UINT64, "otc_escrow: payment methods out of range"


@internal
@view
def _load_maker_ad(ad_id: uint256) -> Ad:
    # The ad, checked to exist, to be the caller's and to be open.
    ad: Ad = self._load_ad(ad_id)
    assert ad.maker != empty(address), "otc_escrow: unknown ad"
    assert ad.maker == msg.sender, "otc_escrow: caller is not the maker"
    assert not ad.closed, "otc_escrow: ad closed"
    return ad


@internal
def _load_open_ad(ad_id: uint256, amount: uint256, side: uint8) -> Ad:
    # The ad an order is about to open on, checked to take it.
    pausable._require_not_paused()
    ad: Ad = self._load_ad(ad_id)
    assert ad.maker != empty(address), "otc_escrow: unknown ad"
    if side == SIDE_SELL:
        assert ad.side == SIDE_SELL, "otc_escrow: not a sell ad"
    else:
        assert ad.side == SIDE_BUY, "otc_escrow: not a buy ad"
    assert ad.active, "otc_escrow: ad not active"
    assert amount >= ad.min_amount, "otc_escrow: amount below ad minimum"
    assert amount <= ad.max_amount, "otc_escrow: amount above ad maximum"
    return ad


@internal
def _open(ad_id: uint256, taken: Ad, amount: uint256, buyer: address, seller: address, on_buy_ad: bool) -> uint256:
    self._check_kyc(buyer)
    self._check_kyc(seller)
    ad: Ad = taken
    ad.available -= amount
    ad.locked += amount
    self._store_ad(ad_id, ad)

    order_id: uint256 = self._next_order_id
    self._next_order_id = order_id + 1
    deadline: uint256 = block.timestamp + ad.payment_window
    self._store_order(
        order_id,
        Order(
            taker=msg.sender,
            on_buy_ad=on_buy_ad,
            status=STATUS_OPEN,
            deadline=deadline,
            paid_at=0,
            ad_id=ad_id,
            amount=amount,
            price=ad.price,
            fee_bps=self.fee_bps,
        ),
    )
    log OrderOpened(
        order_id=order_id,
        ad_id=ad_id,
        buyer=buyer,
        seller=seller,
        amount=amount,
        price=ad.price,
        deadline=deadline,
    )
    return order_id


@internal
@view
def _load_existing_order(order_id: uint256) -> Order:
    order: Order = self._load_order(order_id)
    assert order.taker != empty(address), "otc_escrow: unknown order"
    return order


@internal
@view
def _maker_of(ad_id: uint256) -> address:
    return convert(self._ads[ad_id].head & MAX_ADDRESS, address)


@internal
@view
def _buyer_of(order: Order) -> address:
    # A sell-ad order's buyer opened it: no ad read on the common path.
    if order.on_buy_ad:
        return self._maker_of(order.ad_id)
    return order.taker


@internal
@view
def _seller_of(order: Order) -> address:
    if order.on_buy_ad:
        return order.taker
    return self._maker_of(order.ad_id)


@internal
@view
def _parties(order: Order) -> (address, address):
    return self._buyer_of(order), self._seller_of(order)


@internal
@pure
def _parties_on(order: Order, ad: Ad) -> (address, address):
    # (buyer, seller) of an order whose ad is already loaded.
    if order.on_buy_ad:
        return ad.maker, order.taker
    return order.taker, ad.maker


@internal
def _pull(token: address, owner: address, amount: uint256):
    # Measured by balance so that a fee-on-transfer token, which would
    # leave the escrow holding less than it records, is refused.
    before: uint256 = staticcall IERC20(token).balanceOf(self)
    self._safe_call(token, abi_encode(owner, self, amount, method_id=method_id("transferFrom(address,address,uint256)")))
    received: uint256 = staticcall IERC20(token).balanceOf(self) - before
    assert received == amount, "otc_escrow: fee-on-transfer token not supported"


@internal
def _safe_transfer(token: address, to: address, amount: uint256):
    self._safe_call(token, abi_encode(to, amount, method_id=method_id("transfer(address,uint256)")))


@internal
def _pay(token: address, to: address, amount: uint256, order_id: uint256):
    # A settlement payout. If the token refuses it (recipient blocklisted,
    # token paused, a hook that reverts), the order still ends: the amount
    # stays here as the recipient's credit, withdrawn later by them.
    if not self._call_ok(token, abi_encode(to, amount, method_id=method_id("transfer(address,uint256)"))):
        self.credits[to][token] += amount
        log PayoutCredited(account=to, token=token, order_id=order_id, amount=amount)


@internal
def _safe_call(token: address, payload: Bytes[100]):
    assert self._call_ok(token, payload), "otc_escrow: token transfer failed"


@internal
def _call_ok(token: address, payload: Bytes[100]) -> bool:
    # Tokens like USDT return nothing from transfer: accept an empty
    # answer, and a `true` one, and nothing else.
    success: bool = False
    response: Bytes[32] = b""
    success, response = raw_call(token, payload, max_outsize=32, revert_on_failure=False)
    if not success:
        return False
    if len(response) != 0:
        return convert(response, bool)
    return True


@internal
def _permit(token: address, amount: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    # A token without EIP-2612 reverts with no data (unknown selector);
    # say so in words. A token that has permit and refuses it (bad
    # signature, expired) keeps its own reason.
    payload: Bytes[228] = abi_encode(
        msg.sender,
        self,
        amount,
        deadline,
        v,
        r,
        s,
        method_id=method_id("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"),
    )
    success: bool = False
    response: Bytes[256] = b""
    success, response = raw_call(token, payload, max_outsize=256, revert_on_failure=False)
    if not success:
        assert len(response) != 0, "otc_escrow: token has no permit"
        raw_revert(response)


@internal
@view
def _load_ad(ad_id: uint256) -> Ad:
    packed: PackedAd = self._ads[ad_id]
    flags: uint256 = (packed.head >> 216) & 255
    side: uint8 = SIDE_SELL
    if flags & AD_BUY != 0:
        side = SIDE_BUY
    if packed.head == 0:
        side = 0
    return Ad(
        maker=convert(packed.head & MAX_ADDRESS, address),
        token=convert(packed.asset & MAX_ADDRESS, address),
        available=packed.balance & MAX_UINT128,
        locked=packed.balance >> 128,
        price=packed.terms & MAX_UINT64,
        fiat=convert(convert((packed.head >> 192) & (2**24 - 1), uint24), bytes3),
        min_amount=(packed.terms >> 64) & MAX_UINT96,
        max_amount=packed.terms >> 160,
        payment_window=(packed.head >> 160) & MAX_UINT32,
        payment_methods=packed.asset >> 160,
        active=flags & AD_ACTIVE != 0,
        closed=flags & AD_CLOSED != 0,
        side=side,
    )


@internal
def _store_ad(ad_id: uint256, ad: Ad):
    # Field widths are checked where values enter (`_check_terms`,
    # `create_ad`, `top_up`); locked never exceeds what was deposited.
    flags: uint256 = 0
    if ad.active:
        flags |= AD_ACTIVE
    if ad.closed:
        flags |= AD_CLOSED
    if ad.side == SIDE_BUY:
        flags |= AD_BUY
    self._ads[ad_id] = PackedAd(
        head=convert(ad.maker, uint256)
        | (ad.payment_window << 160)
        | (convert(ad.fiat, uint256) << 192)
        | (flags << 216),
        asset=convert(ad.token, uint256) | (ad.payment_methods << 160),
        balance=ad.available | (ad.locked << 128),
        terms=ad.price | (ad.min_amount << 64) | (ad.max_amount << 160),
    )


@internal
@view
def _load_order(order_id: uint256) -> Order:
    packed: PackedOrder = self._orders[order_id]
    return Order(
        taker=convert(packed.head & MAX_ADDRESS, address),
        on_buy_ad=packed.head >> 248 != 0,
        status=convert((packed.head >> 160) & 255, uint8),
        deadline=(packed.head >> 168) & MAX_UINT40,
        paid_at=(packed.head >> 208) & MAX_UINT40,
        ad_id=packed.deal & MAX_UINT64,
        amount=(packed.deal >> 64) & MAX_UINT96,
        price=(packed.deal >> 160) & MAX_UINT64,
        fee_bps=packed.deal >> 224,
    )


@internal
def _store_order(order_id: uint256, order: Order):
    # Widths: timestamps fit 40 bits for 30,000 years; ad ids, amounts,
    # prices and fees are bounded where they enter.
    on_buy_ad: uint256 = 0
    if order.on_buy_ad:
        on_buy_ad = 1
    self._orders[order_id] = PackedOrder(
        head=convert(order.taker, uint256)
        | (convert(order.status, uint256) << 160)
        | (order.deadline << 168)
        | (order.paid_at << 208)
        | (on_buy_ad << 248),
        deal=order.ad_id | (order.amount << 64) | (order.price << 160) | (order.fee_bps << 224),
    )

