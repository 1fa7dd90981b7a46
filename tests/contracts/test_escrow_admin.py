"""OtcEscrow administration: constructor, fees, fee recipient, token
allowlist, KYC requirement, pause / unpause and roles."""

import ape
import pytest
from ape.exceptions import ContractLogicError
from conftest import (
    ARBITRATOR_ROLE,
    EVIDENCE,
    FEE_BPS,
    HOUR,
    METHODS,
    PAUSER_ROLE,
    PAYMENT_REF,
    PRICE,
    UNIT,
    USD,
    single_event,
)
from eth_utils import keccak

ZERO_ADDRESS = "0x" + "00" * 20
DEFAULT_ADMIN_ROLE = b"\x00" * 32
MISSING_ROLE = "access_control: account is missing role"
AMOUNT = 100 * UNIT
FEE = AMOUNT * FEE_BPS // 10_000


# -------------------------------------------------------------- helpers


def post_ad(escrow, token, seller, amount=1_000 * UNIT):
    return escrow.create_ad(
        token, amount, PRICE, USD, 10 * UNIT, 500 * UNIT, HOUR, METHODS, keccak(text="terms"), sender=seller
    )


@pytest.fixture
def released_order_id(escrow, seller, paid_order_id):
    """An order released at the default fee: FEE accrued in `token`."""
    escrow.release(paid_order_id, sender=seller)
    return paid_order_id


# ---------------------------------------------------------- constructor


def test_constructor__initial_state(escrow, chain, admin, arbitrator, kyc_registry, node_registry, fee_recipient):
    assert escrow.fee_bps() == FEE_BPS
    assert escrow.fee_recipient() == fee_recipient.address
    assert escrow.kyc_registry() == kyc_registry.address
    assert escrow.node_registry() == node_registry.address
    assert escrow.kyc_min_level() == 0
    assert escrow.ad_count() == 0
    assert escrow.order_count() == 0
    assert escrow.paused() is False
    assert escrow.DEFAULT_ADMIN_ROLE() == DEFAULT_ADMIN_ROLE
    assert escrow.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert escrow.hasRole(ARBITRATOR_ROLE, arbitrator)
    assert escrow.hasRole(PAUSER_ROLE, admin)  # granted by the fixture


def test_constructor__constants(escrow):
    assert escrow.ARBITRATOR_ROLE() == ARBITRATOR_ROLE
    assert escrow.PAUSER_ROLE() == PAUSER_ROLE
    assert escrow.MAX_FEE_BPS() == 200
    assert escrow.MIN_PAYMENT_WINDOW() == 15 * 60
    assert escrow.MAX_PAYMENT_WINDOW() == 7 * 24 * HOUR
    assert escrow.SELLER_DISPUTE_GRACE() == HOUR
    statuses = [
        escrow.STATUS_OPEN(),
        escrow.STATUS_PAID(),
        escrow.STATUS_RELEASED(),
        escrow.STATUS_CANCELLED(),
        escrow.STATUS_DISPUTED(),
        escrow.STATUS_RESOLVED(),
    ]
    assert statuses == [1, 2, 3, 4, 5, 6]
    assert (escrow.CANCEL_BY_BUYER(), escrow.CANCEL_EXPIRED()) == (1, 2)


def test_constructor__eip712_domain(escrow, chain):
    domain = escrow.eip712Domain()
    assert domain[0] == b"\x0f"
    assert domain[1] == "Sentinel OTC"
    assert domain[2] == "1"
    assert domain[3] == chain.chain_id
    assert domain[4] == escrow.address


def test_constructor__deployer_gets_only_admin(project, admin, other, kyc_registry, node_registry, fee_recipient):
    fresh = other.deploy(project.OtcEscrow, kyc_registry, node_registry, fee_recipient, 200)
    assert fresh.fee_bps() == 200  # the cap itself is accepted
    assert fresh.hasRole(DEFAULT_ADMIN_ROLE, other)
    assert not fresh.hasRole(DEFAULT_ADMIN_ROLE, admin)
    assert not fresh.hasRole(ARBITRATOR_ROLE, other)
    assert not fresh.hasRole(PAUSER_ROLE, other)
    with ape.reverts(MISSING_ROLE):
        fresh.pause(sender=other)


# A failed deploy is checked with pytest.raises: ape.reverts also decodes the deploy's trace,
# which on this escrow's bytecode fails inside eth_abi (InvalidPointer) before comparing.
def test_constructor__zero_fee_recipient(project, admin, kyc_registry, node_registry):
    with pytest.raises(ContractLogicError, match="otc_escrow: zero fee recipient"):
        admin.deploy(project.OtcEscrow, kyc_registry, node_registry, ZERO_ADDRESS, FEE_BPS)


def test_constructor__fee_above_cap(project, admin, kyc_registry, node_registry, fee_recipient):
    with pytest.raises(ContractLogicError, match="otc_escrow: fee above cap"):
        admin.deploy(project.OtcEscrow, kyc_registry, node_registry, fee_recipient, 201)


def test_constructor__supports_interfaces(escrow):
    assert escrow.supportsInterface(bytes.fromhex("01ffc9a7"))  # ERC-165
    assert escrow.supportsInterface(bytes.fromhex("7965db0b"))  # IAccessControl
    assert not escrow.supportsInterface(bytes.fromhex("ffffffff"))


# -------------------------------------------------------------- set_fee


def test_set_fee__changes_fee(escrow, admin):
    tx = escrow.set_fee(120, sender=admin)
    assert escrow.fee_bps() == 120
    single_event(tx, escrow.FeeChanged, escrow, fee_bps=120)


def test_set_fee__cap_and_zero_accepted(escrow, admin):
    escrow.set_fee(200, sender=admin)
    assert escrow.fee_bps() == 200
    escrow.set_fee(0, sender=admin)
    assert escrow.fee_bps() == 0


def test_set_fee__above_cap(escrow, admin):
    with ape.reverts("otc_escrow: fee above cap"):
        escrow.set_fee(201, sender=admin)
    assert escrow.fee_bps() == FEE_BPS


@pytest.mark.parametrize("who", ["arbitrator", "fee_recipient"])
def test_set_fee__only_admin(escrow, who, request):
    with ape.reverts(MISSING_ROLE):
        escrow.set_fee(10, sender=request.getfixturevalue(who))
    assert escrow.fee_bps() == FEE_BPS


def test_set_fee__applies_to_new_orders(escrow, token, admin, seller, buyer, ad_id, open_order):
    escrow.set_fee(200, sender=admin)
    order = open_order(ad_id)
    assert escrow.orders(order).fee_bps == 200
    before = token.balanceOf(buyer)
    escrow.release(order, sender=seller)
    assert token.balanceOf(buyer) == before + AMOUNT - 2 * UNIT
    assert escrow.accrued_fees(token) == 2 * UNIT


# ---------------------------------------------------- set_fee_recipient


def test_set_fee_recipient__changes_recipient(escrow, admin, other):
    tx = escrow.set_fee_recipient(other, sender=admin)
    assert escrow.fee_recipient() == other.address
    single_event(tx, escrow.FeeRecipientChanged, escrow, fee_recipient=other)


def test_set_fee_recipient__zero_address(escrow, admin, fee_recipient):
    with ape.reverts("otc_escrow: zero fee recipient"):
        escrow.set_fee_recipient(ZERO_ADDRESS, sender=admin)
    assert escrow.fee_recipient() == fee_recipient.address


def test_set_fee_recipient__only_admin(escrow, other, fee_recipient):
    with ape.reverts(MISSING_ROLE):
        escrow.set_fee_recipient(other, sender=fee_recipient)
    assert escrow.fee_recipient() == fee_recipient.address


# -------------------------------------------------------- withdraw_fees


def test_withdraw_fees__by_recipient(escrow, token, fee_recipient, ad_id, released_order_id):
    before = token.balanceOf(fee_recipient)
    escrow_before = token.balanceOf(escrow)
    tx = escrow.withdraw_fees(token, sender=fee_recipient)
    assert escrow.accrued_fees(token) == 0
    assert token.balanceOf(fee_recipient) == before + FEE
    assert token.balanceOf(escrow) == escrow_before - FEE
    # the ad's own tokens are untouched
    assert escrow.ads(ad_id).available == 900 * UNIT
    single_event(tx, escrow.FeesWithdrawn, escrow, token=token, recipient=fee_recipient, amount=FEE)


def test_withdraw_fees__by_admin_pays_the_recipient(escrow, token, admin, fee_recipient, released_order_id):
    admin_before = token.balanceOf(admin)
    before = token.balanceOf(fee_recipient)
    tx = escrow.withdraw_fees(token, sender=admin)
    assert token.balanceOf(fee_recipient) == before + FEE
    assert token.balanceOf(admin) == admin_before
    single_event(tx, escrow.FeesWithdrawn, escrow, token=token, recipient=fee_recipient, amount=FEE)


def test_withdraw_fees__accumulates_over_orders(escrow, token, seller, fee_recipient, ad_id, open_order):
    for amount in (100 * UNIT, 200 * UNIT, 300 * UNIT):
        escrow.release(open_order(ad_id, amount), sender=seller)
    total = 600 * UNIT * FEE_BPS // 10_000
    assert escrow.accrued_fees(token) == total
    tx = escrow.withdraw_fees(token, sender=fee_recipient)
    assert tx.decode_logs(escrow.FeesWithdrawn)[0].amount == total
    assert token.balanceOf(fee_recipient) == total


def test_withdraw_fees__goes_to_the_new_recipient(escrow, token, admin, fee_recipient, other, released_order_id):
    escrow.set_fee_recipient(other, sender=admin)
    with ape.reverts("otc_escrow: caller is not fee recipient or admin"):
        escrow.withdraw_fees(token, sender=fee_recipient)
    escrow.withdraw_fees(token, sender=other)
    assert token.balanceOf(other) == FEE
    assert token.balanceOf(fee_recipient) == 0


@pytest.mark.parametrize("who", ["other", "arbitrator"])
def test_withdraw_fees__only_recipient_or_admin(escrow, token, released_order_id, who, request):
    with ape.reverts("otc_escrow: caller is not fee recipient or admin"):
        escrow.withdraw_fees(token, sender=request.getfixturevalue(who))
    assert escrow.accrued_fees(token) == FEE


def test_withdraw_fees__nothing_accrued(escrow, token, fee_recipient):
    with ape.reverts("otc_escrow: no fees to withdraw"):
        escrow.withdraw_fees(token, sender=fee_recipient)


def test_withdraw_fees__twice(escrow, token, fee_recipient, released_order_id):
    escrow.withdraw_fees(token, sender=fee_recipient)
    with ape.reverts("otc_escrow: no fees to withdraw"):
        escrow.withdraw_fees(token, sender=fee_recipient)


# ---------------------------------------------------- set_token_allowed


def test_set_token_allowed__allows_a_new_token(escrow, project, admin, seller):
    fresh = admin.deploy(project.TestStablecoin, "Euro Coin", "EURC")
    assert escrow.token_allowed(fresh) is False
    tx = escrow.set_token_allowed(fresh, True, sender=admin)
    assert escrow.token_allowed(fresh) is True
    single_event(tx, escrow.TokenAllowlistChanged, escrow, token=fresh, allowed=True)

    fresh.faucet(100 * UNIT, sender=seller)
    fresh.approve(escrow, 100 * UNIT, sender=seller)
    post_ad(escrow, fresh, seller, 100 * UNIT)
    assert escrow.ads(1).token == fresh.address


def test_set_token_allowed__removal_blocks_new_ads_only(escrow, token, admin, seller, buyer, ad_id, open_order):
    tx = escrow.set_token_allowed(token, False, sender=admin)
    assert escrow.token_allowed(token) is False
    single_event(tx, escrow.TokenAllowlistChanged, escrow, token=token, allowed=False)
    with ape.reverts("otc_escrow: token not allowed"):
        post_ad(escrow, token, seller)
    # what is already listed still trades and can be taken back
    order = open_order(ad_id)
    escrow.release(order, sender=seller)
    escrow.close_ad(ad_id, sender=seller)
    assert token.balanceOf(escrow) == FEE


@pytest.mark.parametrize("target", ["other", "zero"])
def test_set_token_allowed__non_contract(escrow, admin, other, target):
    address = other.address if target == "other" else ZERO_ADDRESS
    with ape.reverts("otc_escrow: token is not a contract"):
        escrow.set_token_allowed(address, True, sender=admin)
    assert escrow.token_allowed(address) is False


def test_set_token_allowed__only_admin(escrow, token, arbitrator):
    with ape.reverts(MISSING_ROLE):
        escrow.set_token_allowed(token, False, sender=arbitrator)
    assert escrow.token_allowed(token) is True


# ---------------------------------------------------- set_kyc_min_level


@pytest.mark.parametrize("level", [1, 2, 3])
def test_set_kyc_min_level__sets_level(escrow, admin, level):
    tx = escrow.set_kyc_min_level(level, sender=admin)
    assert escrow.kyc_min_level() == level
    single_event(tx, escrow.KycRequirementChanged, escrow, min_level=level)


def test_set_kyc_min_level__zero_turns_the_check_off(escrow, token, admin, seller, buyer, ad_id, open_order):
    escrow.set_kyc_min_level(1, sender=admin)
    with ape.reverts("otc_escrow: kyc required"):
        post_ad(escrow, token, seller)
    tx = escrow.set_kyc_min_level(0, sender=admin)
    single_event(tx, escrow.KycRequirementChanged, escrow, min_level=0)
    post_ad(escrow, token, seller)
    assert escrow.orders(open_order(ad_id)).status == 1


def test_set_kyc_min_level__out_of_range(escrow, admin):
    with ape.reverts("otc_escrow: kyc level out of range"):
        escrow.set_kyc_min_level(4, sender=admin)
    assert escrow.kyc_min_level() == 0


def test_set_kyc_min_level__only_admin(escrow, officer):
    # a KYC officer of the registry has no say over the escrow
    with ape.reverts(MISSING_ROLE):
        escrow.set_kyc_min_level(1, sender=officer)
    assert escrow.kyc_min_level() == 0


# ------------------------------------------------------- pause / unpause


def test_pause__pauses_and_logs(escrow, admin):
    tx = escrow.pause(sender=admin)
    assert escrow.paused() is True
    single_event(tx, escrow.Paused, escrow, account=admin)


def test_unpause__unpauses_and_logs(escrow, token, admin, seller):
    escrow.pause(sender=admin)
    tx = escrow.unpause(sender=admin)
    assert escrow.paused() is False
    single_event(tx, escrow.Unpaused, escrow, account=admin)
    post_ad(escrow, token, seller)
    assert escrow.ad_count() == 1


def test_pause__twice(escrow, admin):
    escrow.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        escrow.pause(sender=admin)


def test_unpause__when_not_paused(escrow, admin):
    with ape.reverts("pausable: contract is not paused"):
        escrow.unpause(sender=admin)


@pytest.mark.parametrize("who", ["arbitrator", "other"])
def test_pause__only_pauser(escrow, who, request):
    with ape.reverts(MISSING_ROLE):
        escrow.pause(sender=request.getfixturevalue(who))
    assert escrow.paused() is False


def test_unpause__only_pauser(escrow, admin, arbitrator):
    escrow.pause(sender=admin)
    with ape.reverts(MISSING_ROLE):
        escrow.unpause(sender=arbitrator)
    assert escrow.paused() is True


def test_pause__admin_without_pauser_role_refused(escrow, admin):
    escrow.revokeRole(PAUSER_ROLE, admin, sender=admin)
    with ape.reverts(MISSING_ROLE):
        escrow.pause(sender=admin)


def test_pause__blocks_new_business(escrow, token, admin, seller, buyer, ad_id):
    escrow.pause(sender=admin)
    with ape.reverts("pausable: contract is paused"):
        post_ad(escrow, token, seller)
    with ape.reverts("pausable: contract is paused"):
        escrow.top_up(ad_id, UNIT, sender=seller)
    with ape.reverts("pausable: contract is paused"):
        escrow.open_order(ad_id, AMOUNT, PRICE, sender=buyer)
    assert escrow.ad_count() == 1
    assert escrow.order_count() == 0
    assert escrow.ads(ad_id).available == 1_000 * UNIT


def test_pause__settlement_still_works(escrow, token, admin, seller, buyer, ad_id, open_order, fee_recipient):
    released = open_order(ad_id)
    cancelled = open_order(ad_id)
    escrow.pause(sender=admin)

    escrow.mark_paid(released, PAYMENT_REF, sender=buyer)
    escrow.release(released, sender=seller)
    escrow.cancel(cancelled, sender=buyer)
    escrow.withdraw_fees(token, sender=fee_recipient)
    assert escrow.orders(released).status == 3
    assert escrow.orders(cancelled).status == 4
    assert token.balanceOf(fee_recipient) == FEE

    escrow.withdraw(ad_id, 100 * UNIT, sender=seller)
    escrow.close_ad(ad_id, sender=seller)
    assert escrow.ads(ad_id).closed is True
    assert escrow.ads(ad_id).available == 0
    assert token.balanceOf(escrow) == 0


def test_pause__expiry_extension_and_disputes_still_work(
    escrow, token, admin, seller, buyer, other, arbitrator, ad_id, open_order, chain
):
    expiring = open_order(ad_id)
    extended = open_order(ad_id)
    disputed = open_order(ad_id)
    escrow.mark_paid(disputed, PAYMENT_REF, sender=buyer)
    escrow.pause(sender=admin)

    escrow.extend_deadline(extended, HOUR, sender=seller)
    escrow.open_dispute(disputed, EVIDENCE, sender=buyer)
    escrow.resolve_dispute(disputed, 10_000, sender=arbitrator)
    chain.pending_timestamp = escrow.orders(expiring).deadline + 1
    escrow.cancel_expired(expiring, sender=other)
    escrow.pause_ad(ad_id, sender=seller)
    escrow.resume_ad(ad_id, sender=seller)

    assert escrow.orders(expiring).status == 4
    assert escrow.orders(disputed).status == 6
    assert escrow.orders(extended).status == 1
    assert escrow.ads(ad_id).locked == AMOUNT


# ----------------------------------------------------------------- roles


def test_roles__admin_grants_and_revokes(escrow, admin, other):
    tx = escrow.grantRole(PAUSER_ROLE, other, sender=admin)
    assert escrow.hasRole(PAUSER_ROLE, other)
    single_event(tx, escrow.RoleGranted, escrow, role=PAUSER_ROLE, account=other, sender=admin)
    escrow.pause(sender=other)
    assert escrow.paused() is True

    tx = escrow.revokeRole(PAUSER_ROLE, other, sender=admin)
    assert not escrow.hasRole(PAUSER_ROLE, other)
    single_event(tx, escrow.RoleRevoked, escrow, role=PAUSER_ROLE, account=other, sender=admin)
    with ape.reverts(MISSING_ROLE):
        escrow.unpause(sender=other)


def test_roles__only_admin_grants(escrow, arbitrator, other):
    with ape.reverts(MISSING_ROLE):
        escrow.grantRole(ARBITRATOR_ROLE, other, sender=arbitrator)
    assert not escrow.hasRole(ARBITRATOR_ROLE, other)


def test_roles__only_admin_revokes(escrow, arbitrator, other):
    with ape.reverts(MISSING_ROLE):
        escrow.revokeRole(ARBITRATOR_ROLE, arbitrator, sender=other)
    assert escrow.hasRole(ARBITRATOR_ROLE, arbitrator)


def test_roles__revoked_arbitrator_cannot_resolve(escrow, admin, arbitrator, other, paid_order_id, buyer):
    escrow.open_dispute(paid_order_id, EVIDENCE, sender=buyer)
    escrow.revokeRole(ARBITRATOR_ROLE, arbitrator, sender=admin)
    with ape.reverts(MISSING_ROLE):
        escrow.resolve_dispute(paid_order_id, 5_000, sender=arbitrator)
    escrow.grantRole(ARBITRATOR_ROLE, other, sender=admin)
    escrow.resolve_dispute(paid_order_id, 5_000, sender=other)
    assert escrow.orders(paid_order_id).status == 6


def test_roles__renounce(escrow, arbitrator):
    escrow.renounceRole(ARBITRATOR_ROLE, arbitrator, sender=arbitrator)
    assert not escrow.hasRole(ARBITRATOR_ROLE, arbitrator)


def test_roles__cannot_renounce_for_another(escrow, admin, arbitrator):
    with ape.reverts("access_control: can only renounce roles for itself"):
        escrow.renounceRole(ARBITRATOR_ROLE, arbitrator, sender=admin)
    assert escrow.hasRole(ARBITRATOR_ROLE, arbitrator)


def test_roles__new_admin_can_administer(escrow, admin, other):
    escrow.grantRole(DEFAULT_ADMIN_ROLE, other, sender=admin)
    escrow.set_fee(75, sender=other)
    assert escrow.fee_bps() == 75
    escrow.renounceRole(DEFAULT_ADMIN_ROLE, admin, sender=admin)
    with ape.reverts(MISSING_ROLE):
        escrow.set_fee(10, sender=admin)
