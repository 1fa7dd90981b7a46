"""Role fixtures and factories for the contract tests (run with `ape test`).

Every test gets a fresh chain state: ape snapshots and reverts around each test.
"""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from tests.roles import *  # noqa: F403  admin, seller, buyer, other, relayer

USD = b"USD"
HOUR = 3600
DAY = 24 * HOUR
UNIT = 10**6  # the test stablecoin has 6 decimals
PRICE = 725  # fiat minor units per whole token (7.25 USD)
FEE_BPS = 50
SIDE_SELL = 1  # the escrow's sides of the book
SIDE_BUY = 2
METHODS = 0b101  # payment-methods bitmask
TERMS_HASH = keccak(text="bank transfer; reference = order id")
PAYMENT_REF = keccak(text="ledger-payment-1")
EVIDENCE = keccak(text="chat transcript head")

ARBITRATOR_ROLE = keccak(text="ARBITRATOR_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
OFFICER_ROLE = keccak(text="OFFICER_ROLE")


def pytest_addoption(parser):
    parser.addoption(
        "--invariant-steps",
        type=int,
        default=2000,
        help="minimum number of state-machine steps the escrow invariant test runs",
    )


@pytest.fixture(scope="session")
def invariant_steps(request):
    return request.config.getoption("--invariant-steps")


# ---------------------------------------------------------------- roles


@pytest.fixture(scope="session")
def arbitrator(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def officer(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def node(accounts):
    """An admitted node: may relay signed actions."""
    return accounts[3]


@pytest.fixture(scope="session")
def fee_recipient(accounts):
    return accounts[7]


# -------------------------------------------------------------- helpers


def _norm(value):
    return value.address if hasattr(value, "address") else value


def single_event(tx, event, emitter, **expected):
    """The one `event` in `tx`, emitted by `emitter`, with exactly the `expected` fields."""
    logs = tx.decode_logs(event)
    assert len(logs) == 1, logs
    log = logs[0]
    assert log.contract_address == emitter.address
    args = dict(log.event_arguments)
    assert set(args) == set(expected)
    for name, value in expected.items():
        assert args[name] == _norm(value), name
    return log


def sign_permit(token, chain, owner, spender, amount, deadline, *, key_of=None, nonce=None):
    """EIP-2612 permit on the TestStablecoin, signed with `key_of`'s key (default: `owner`)."""
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": "Test USD",
            "version": "1",
            "chainId": chain.chain_id,
            "verifyingContract": token.address,
        },
        "message": {
            "owner": owner.address,
            "spender": _norm(spender),
            "value": amount,
            "nonce": token.nonces(owner) if nonce is None else nonce,
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=typed), (key_of or owner).private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# ------------------------------------------------------------ contracts


@pytest.fixture(scope="session")
def kyc_registry(project, admin, officer):
    return admin.deploy(project.KycRegistry, officer)


@pytest.fixture(scope="session")
def node_registry(project, admin, node):
    registry = admin.deploy(project.NodeRegistry, [admin])
    registry.propose_node(node, "http://node-1:8000", keccak(text="hw"), keccak(text="challenge"), sender=admin)
    return registry


@pytest.fixture(scope="session")
def escrow(project, admin, arbitrator, kyc_registry, node_registry, fee_recipient):
    contract = admin.deploy(project.OtcEscrow, kyc_registry, node_registry, fee_recipient, FEE_BPS)
    contract.grantRole(ARBITRATOR_ROLE, arbitrator, sender=admin)
    contract.grantRole(PAUSER_ROLE, admin, sender=admin)
    return contract


@pytest.fixture(scope="session")
def token(project, admin, escrow, seller, buyer):
    """The 6-decimals stablecoin, allowed in the escrow; seller and buyer hold some."""
    contract = admin.deploy(project.TestStablecoin, "Test USD", "TUSD")
    escrow.set_token_allowed(contract, True, sender=admin)
    for account in (seller, buyer):
        contract.faucet(10_000 * UNIT, sender=account)
        contract.approve(escrow, 2**256 - 1, sender=account)
    return contract


@pytest.fixture(scope="session")
def no_return_token(project, admin, escrow, seller):
    contract = admin.deploy(project.NoReturnToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    contract.mint(seller, 10_000 * UNIT, sender=admin)
    contract.approve(escrow, 2**256 - 1, sender=seller)
    return contract


@pytest.fixture(scope="session")
def fee_token(project, admin, escrow, seller):
    contract = admin.deploy(project.FeeOnTransferToken)
    escrow.set_token_allowed(contract, True, sender=admin)
    contract.mint(seller, 10_000 * 10**18, sender=admin)
    contract.approve(escrow, 2**256 - 1, sender=seller)
    return contract


# ------------------------------------------------------------ factories


@pytest.fixture
def create_ad(escrow, token, seller):
    """Posts an ad and returns its id; any term can be overridden."""

    def create(
        amount=1_000 * UNIT,
        *,
        sender=None,
        token_=None,
        price=PRICE,
        fiat=USD,
        min_amount=10 * UNIT,
        max_amount=500 * UNIT,
        payment_window=HOUR,
        payment_methods=METHODS,
        terms_hash=TERMS_HASH,
    ):
        tx = escrow.create_ad(
            token_ or token,
            amount,
            price,
            fiat,
            min_amount,
            max_amount,
            payment_window,
            payment_methods,
            terms_hash,
            sender=sender or seller,
        )
        return tx.decode_logs(escrow.AdCreated)[0].ad_id

    return create


@pytest.fixture
def open_order(escrow, buyer):
    """Opens an order on an ad and returns its id."""

    def open_(ad_id, amount=100 * UNIT, *, sender=None, max_price=PRICE):
        tx = escrow.open_order(ad_id, amount, max_price, sender=sender or buyer)
        return tx.decode_logs(escrow.OrderOpened)[0].order_id

    return open_


@pytest.fixture
def ad_id(create_ad):
    return create_ad()


@pytest.fixture
def order_id(ad_id, open_order):
    return open_order(ad_id)


@pytest.fixture
def paid_order_id(escrow, order_id, buyer):
    escrow.mark_paid(order_id, PAYMENT_REF, sender=buyer)
    return order_id


@pytest.fixture
def sign_action(escrow, chain):
    """Signs an escrow EIP-712 action (MarkPaid / Release / Cancel) with an account's key."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    def sign(account, action, order_id, nonce, deadline, payment_ref=None):
        fields = [{"name": "orderId", "type": "uint256"}]
        message = {"orderId": order_id, "nonce": nonce, "deadline": deadline}
        if action == "MarkPaid":
            fields.append({"name": "paymentRef", "type": "bytes32"})
            message["paymentRef"] = payment_ref
        fields += [{"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"}]
        typed = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                action: fields,
            },
            "primaryType": action,
            "domain": {
                "name": "Sentinel OTC",
                "version": "1",
                "chainId": chain.chain_id,
                "verifyingContract": escrow.address,
            },
            "message": message,
        }
        signed = Account.sign_message(encode_typed_data(full_message=typed), account.private_key)
        return signed.signature

    return sign
