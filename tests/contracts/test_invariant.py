"""Stateful (hypothesis) test of the escrow: random ad and order actions by several accounts.

A Python model follows the escrow rules. Every step sends one transaction (or moves time);
the model says beforehand whether it must succeed or revert, and with which message. After
every step the whole on-chain state is read back and compared with the model:

* token.balanceOf(escrow) == sum over sell ads of (available + locked) + sum over buy ads of
  locked (a buy ad holds no tokens: only its orders hold the sellers' tokens) + accrued_fees(token)
  + sum over accounts of credits(account, token) (payouts the token refused)
* every ad and every order equals the model; an order's status only moves along the state
  machine (OPEN -> PAID -> RELEASED, ...) and a settled order never changes again
* every account holds exactly the tokens the model says it is owed (so nobody is paid twice
  or more than owed), and no token leaves the known accounts and the escrow.

Both sides of the book trade: sell ads (the maker's tokens locked up front, buyers open
orders) and buy ads (nothing locked; sellers fill them with `open_sell_order`, which pulls their
tokens then; a cancel pays the seller back, a release pays the ad's maker).

The token is a USDC-style one whose owner blocklists accounts: a rule blocks and unblocks
traders and the fee recipient at random, so payouts to them are credited instead, and a
`withdraw_credit` rule takes credits out (refused while still blocked).

Speed: ape spends ~30 ms on a transaction and ~300 ms on a revert (it builds a source
traceback), too slow for thousands of steps on two cores. The state machine therefore talks
JSON-RPC to the same Anvil directly: one `eth_sendTransaction` per step (a reverting action is
really sent, mined as failed, and its reason read back with `eth_call` at that block), and one
batched `eth_call` request that reads the whole state after the step.

`--invariant-steps N` (default 2000) sets the minimum number of steps; the module counter
`STATS["steps"]` is checked by `test_invariant__ran_enough_steps`, which runs after.
"""

import functools
import math
import time
from collections import Counter

import requests
from conftest import DAY, EVIDENCE, FEE_BPS, HOUR, PAYMENT_REF, PRICE, TERMS_HASH, UNIT, USD
from eth_abi import encode
from eth_utils import keccak, to_checksum_address
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

# ------------------------------------------------------------------ constants

STEPS_PER_EXAMPLE = 50
TX_GAS = 1_000_000
BPS = 10_000
MAX_FEE_BPS = 200
MIN_WINDOW = 15 * 60
MAX_WINDOW = 7 * DAY
SELLER_GRACE = HOUR
MAX_UINT96 = 2**96 - 1

OPEN, PAID, RELEASED, CANCELLED, DISPUTED, RESOLVED = 1, 2, 3, 4, 5, 6
SIDE_SELL, SIDE_BUY = 1, 2
LIVE = (OPEN, PAID, DISPUTED)
ALLOWED = {
    OPEN: {PAID, RELEASED, CANCELLED},
    PAID: {RELEASED, CANCELLED, DISPUTED},
    DISPUTED: {RESOLVED},
    RELEASED: set(),
    CANCELLED: set(),
    RESOLVED: set(),
}

# Executed steps, summed over every hypothesis example (checked by the last test).
STATS = {
    "steps": 0,
    "examples": 0,
    "waits": 0,
    "seconds": 0.0,
    "ok": Counter(),
    "reverted": Counter(),
    "reasons": Counter(),
    "rules": Counter(),
    "branches": Counter(),
}


def selector(signature):
    return keccak(text=signature)[:4]


SIG = {
    name: selector(sig)
    for name, sig in {
        "create_ad": "create_ad(address,uint256,uint256,bytes3,uint256,uint256,uint256,uint256,bytes32)",
        "create_buy_ad": "create_buy_ad(address,uint256,uint256,bytes3,uint256,uint256,uint256,uint256,bytes32)",
        "top_up": "top_up(uint256,uint256)",
        "withdraw": "withdraw(uint256,uint256)",
        "close_ad": "close_ad(uint256)",
        "pause_ad": "pause_ad(uint256)",
        "resume_ad": "resume_ad(uint256)",
        "open_order": "open_order(uint256,uint256,uint256)",
        "open_sell_order": "open_sell_order(uint256,uint256,uint256)",
        "mark_paid": "mark_paid(uint256,bytes32)",
        "release": "release(uint256)",
        "cancel": "cancel(uint256)",
        "cancel_expired": "cancel_expired(uint256)",
        "extend_deadline": "extend_deadline(uint256,uint256)",
        "open_dispute": "open_dispute(uint256,bytes32)",
        "resolve_dispute": "resolve_dispute(uint256,uint256)",
        "withdraw_fees": "withdraw_fees(address)",
        "withdraw_credit": "withdraw_credit(address)",
        "credits": "credits(address,address)",
        "set_blocked": "set_blocked(address,bool)",
        "set_fee": "set_fee(uint256)",
        "pause": "pause()",
        "unpause": "unpause()",
        # views
        "ads": "ads(uint256)",
        "orders": "orders(uint256)",
        "accrued_fees": "accrued_fees(address)",
        "ad_count": "ad_count()",
        "order_count": "order_count()",
        "fee_bps": "fee_bps()",
        "paused": "paused()",
        "balanceOf": "balanceOf(address)",
        "totalSupply": "totalSupply()",
    }.items()
}

EVENT = {
    name: keccak(text=sig)
    for name, sig in {
        "AdCreated": "AdCreated(uint256,address,address,uint256,uint256,bytes3,uint256,uint256,uint256,uint256,bytes32,uint8)",  # noqa: E501
        "AdToppedUp": "AdToppedUp(uint256,address,uint256)",
        "AdWithdrawn": "AdWithdrawn(uint256,address,uint256)",
        "AdClosed": "AdClosed(uint256,address,uint256)",
        "AdPaused": "AdPaused(uint256,address)",
        "AdResumed": "AdResumed(uint256,address)",
        "OrderOpened": "OrderOpened(uint256,uint256,address,address,uint256,uint256,uint256)",
        "OrderPaid": "OrderPaid(uint256,address,bytes32)",
        "OrderReleased": "OrderReleased(uint256,address,address,uint256,uint256)",
        "OrderCancelled": "OrderCancelled(uint256,address,uint8)",
        "DeadlineExtended": "DeadlineExtended(uint256,uint256)",
        "DisputeOpened": "DisputeOpened(uint256,address,bytes32)",
        "DisputeResolved": "DisputeResolved(uint256,address,uint256,uint256,uint256,uint256)",
        "FeesWithdrawn": "FeesWithdrawn(address,address,uint256)",
        "PayoutCredited": "PayoutCredited(address,address,uint256,uint256)",
        "CreditWithdrawn": "CreditWithdrawn(address,address,uint256)",
        "FeeChanged": "FeeChanged(uint256)",
        "Paused": "Paused(address)",
        "Unpaused": "Unpaused(address)",
    }.items()
}


def calldata(name, types=(), values=()):
    return "0x" + (SIG[name] + encode(list(types), list(values))).hex()


def words(raw):
    return [int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)]


def revert_reason(error):
    data = error.get("data")
    if isinstance(data, str) and data.startswith("0x08c379a0"):
        raw = bytes.fromhex(data[10:])
        length = int.from_bytes(raw[32:64], "big")
        return raw[64 : 64 + length].decode()
    return error.get("message")


class Rpc:
    """Bare JSON-RPC to the Anvil that ape started (no per-call overhead)."""

    def __init__(self, uri):
        self.uri = uri
        self.session = requests.Session()

    def request(self, method, params):
        answer = self.session.post(self.uri, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        answer = answer.json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def calls(self, calls):
        """One HTTP request for many `eth_call`s at the latest block; returns the raw results."""
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": to, "data": data}, "latest"]}
            for i, (to, data) in enumerate(calls)
        ]
        answers = sorted(self.session.post(self.uri, json=payload).json(), key=lambda a: a["id"])
        for answer in answers:
            assert "error" not in answer, answer
        return [bytes.fromhex(answer["result"][2:]) for answer in answers]

    def transact(self, sender, to, data, timestamp):
        """Mines one transaction at `timestamp`; returns (receipt, revert reason or None)."""
        self.request("evm_setNextBlockTimestamp", [timestamp])
        tx = {"from": sender, "to": to, "data": data, "gas": hex(TX_GAS)}
        tx_hash = self.request("eth_sendTransaction", [tx])
        receipt = None
        while receipt is None:
            receipt = self.request("eth_getTransactionReceipt", [tx_hash])
        if int(receipt["status"], 16) == 1:
            return receipt, None
        # Replay on the state of that block (the failed transaction changed nothing) for the reason.
        answer = self.session.post(
            self.uri,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [tx, receipt["blockNumber"]]},
        ).json()
        assert "error" in answer, f"mined as failed but eth_call succeeds: {answer}"
        return receipt, revert_reason(answer["error"])


class Context:
    """What the machine needs from the pytest fixtures, set up once per test."""

    def __init__(self, chain, escrow, token, accounts, admin, arbitrator, fee_recipient, sellers, buyers):
        self.chain = chain
        self.rpc = Rpc(chain.provider.uri)
        self.escrow = escrow.address
        self.token = token.address
        self.admin = admin.address
        self.arbitrator = arbitrator.address
        self.fee_recipient = fee_recipient.address
        self.sellers = [a.address for a in sellers]
        self.buyers = [a.address for a in buyers]
        self.traders = self.sellers + self.buyers
        self.tracked = [a.address for a in accounts]
        self.snapshot = None

    def fresh_chain(self):
        if self.snapshot is not None:
            self.chain.restore(self.snapshot)
        self.snapshot = self.chain.snapshot()


# ------------------------------------------------------------------ strategies

selectors = st.integers(min_value=0, max_value=2**16)
big_selectors = st.integers(min_value=0, max_value=2**64)
# Hypothesis favours small integers; ad sizes are drawn from a realistic spread instead.
ad_amounts = st.builds(
    lambda whole, dust: whole * UNIT + dust,
    st.sampled_from([1_000, 2_500, 400, 5_000, 60, 150]),
    st.integers(min_value=0, max_value=UNIT - 1),
)
top_up_amounts = st.one_of(
    st.sampled_from([500 * UNIT, 50 * UNIT, 0]), st.integers(min_value=0, max_value=3_000 * UNIT)
)
order_amounts = st.one_of(
    st.integers(min_value=0, max_value=1_200 * UNIT), st.sampled_from([UNIT, 10 * UNIT, 1_000 * UNIT])
)
min_amounts = st.sampled_from([10 * UNIT, UNIT, 100 * UNIT, 1])
max_amounts = st.sampled_from([1_000 * UNIT, 300 * UNIT, 2_500 * UNIT, MAX_UINT96])
windows = st.sampled_from([HOUR, MIN_WINDOW, 6 * HOUR, MAX_WINDOW])
create_faults = st.sampled_from(
    [None] * 6
    + ["zero amount", "over balance", "zero min", "min above max", "max too large", "short window", "long window"]
)
order_modes = st.sampled_from(["fit", "fit", "fit", "random"])
amount_kinds = st.sampled_from(["half", "all", "random", "zero", "over"])
waits = st.sampled_from([0, 0, 0, 60, MIN_WINDOW, HOUR + 1, 6 * HOUR, DAY, 8 * DAY])
bps_values = st.one_of(st.sampled_from([5_000, 0, 10_000, 10_001]), st.integers(min_value=0, max_value=10_000))
fee_values = st.sampled_from([FEE_BPS, 0, 1, MAX_FEE_BPS, MAX_FEE_BPS + 1, 33])
as_party = st.sampled_from([True, True, True, False])
rarely = st.sampled_from([False] * 9 + [True])


def counted(function):
    """Counts how often each rule runs (reported at the end of the run)."""

    @functools.wraps(function)
    def run(self, **kwargs):
        STATS["rules"][function.__name__] += 1
        return function(self, **kwargs)

    return run


class EscrowMachine(RuleBasedStateMachine):
    """Rules pick an action and its actors (mostly the right party, sometimes not); the
    `_do_*` methods predict the outcome from the model, send it and update the model."""

    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.rpc = ctx.rpc
        ctx.fresh_chain()
        STATS["examples"] += 1
        head = self.rpc.request("eth_getBlockByNumber", ["latest", False])
        self.now = int(head["timestamp"], 16)

        reads = self._read_state(0, 0)
        assert reads["ad_count"] == 0 and reads["order_count"] == 0, "the escrow should start empty"
        self.balances = dict(reads["balances"])
        self.accrued = reads["accrued"]
        self.fee_bps = reads["fee_bps"]
        self.paused = reads["paused"]
        self.credits = dict(reads["credits"])
        self.blocked = set()
        self.ads = {}  # id -> dict, ids from 1
        self.orders = {}  # id -> dict, ids from 1
        self.seen_status = {}

    # ----------------------------------------------------------- plumbing

    def _send(self, name, sender, data, expected_error, event=None):
        """Sends the action; it must succeed (and log `event` once) or revert with `expected_error`."""
        timestamp = self.now + 1
        receipt, reason = self.rpc.transact(sender, self.ctx.escrow, data, timestamp)
        self.now = timestamp
        if expected_error is None:
            assert reason is None and int(receipt["status"], 16) == 1, f"{name} should succeed, reverted: {reason}"
            if event is not None:
                topics = [
                    bytes.fromhex(log["topics"][0][2:])
                    for log in receipt["logs"]
                    if log["address"].lower() == self.ctx.escrow.lower()
                ]
                assert topics.count(EVENT[event]) == 1, f"{name}: expected one {event} event"
            STATS["ok"][name] += 1
        else:
            assert int(receipt["status"], 16) == 0, f"{name} should revert with {expected_error!r} but succeeded"
            assert reason == expected_error, f"{name}: expected revert {expected_error!r}, got {reason!r}"
            STATS["reverted"][name] += 1
            STATS["reasons"][(name, reason)] += 1
        STATS["steps"] += 1

    def _wait(self, seconds):
        """Moves time: the step's transaction is mined `seconds` after the previous block (+1)."""
        if seconds:
            self.now += seconds
            STATS["waits"] += 1

    def _pick_ad(self, sel):
        if not self.ads or sel % 8 == 7:
            return len(self.ads) + 1  # unknown ad
        ids = sorted(self.ads)
        return ids[(sel // 8) % len(ids)]

    def _pick_order(self, sel, want=()):
        """Mostly an order in a status the action wants, else a live one, any one, or an unknown id."""
        if not self.orders or sel % 10 == 9:
            return len(self.orders) + 1  # unknown order
        ids = sorted(self.orders)
        wanted = [i for i in ids if self.orders[i]["status"] in want]
        live = [i for i in ids if self.orders[i]["status"] in LIVE]
        if wanted and sel % 10 < 6:
            return wanted[(sel // 10) % len(wanted)]
        if live and sel % 10 < 8:
            return live[(sel // 10) % len(live)]
        return ids[(sel // 10) % len(ids)]

    def _anyone(self, sel, exclude=()):
        choices = [a for a in self.ctx.traders + [self.ctx.admin, self.ctx.arbitrator] if a not in exclude]
        return choices[sel % len(choices)]

    def _ad_owner_or_not(self, ad_id, owner, who):
        ad = self.ads.get(ad_id)
        return ad["maker"] if (ad and owner) else self.ctx.traders[who % len(self.ctx.traders)]

    def _seller_of(self, order_id):
        order = self.orders.get(order_id)
        return order["seller"] if order else None

    def _maker_ad_error(self, ad_id, sender):
        """The checks of `_load_maker_ad`."""
        ad = self.ads.get(ad_id)
        if ad is None:
            return "otc_escrow: unknown ad"
        if sender != ad["maker"]:
            return "otc_escrow: caller is not the maker"
        if ad["closed"]:
            return "otc_escrow: ad closed"
        return None

    def _unlock(self, order):
        # A cancelled order's amount goes back to the ad unless it is closed. The tokens stay
        # on a sell ad (or go to its closed ad's maker); on a buy ad they go back to the seller.
        ad = self.ads[order["ad"]]
        ad["locked"] -= order["amount"]
        if not ad["closed"]:
            ad["available"] += order["amount"]
        if order["buy"]:
            STATS["branches"]["unlock to seller of buy-ad order"] += 1
            self._pay(order["seller"], order["amount"], "seller of buy-ad order on cancel")
        elif ad["closed"]:
            STATS["branches"]["unlock to seller of closed ad"] += 1
            self._pay(ad["maker"], order["amount"], "seller of closed ad on cancel")

    def _pay(self, account, amount, what):
        """A settlement payout: to the account, or to its credit while the token refuses it."""
        if account in self.blocked:
            STATS["branches"][f"credited: {what}"] += 1
            self.credits[account] += amount
        else:
            self.balances[account] += amount

    def _transfer_error(self, *accounts):
        """A direct transfer (pull from or payout to the caller) fails while one is blocked."""
        return "otc_escrow: token transfer failed" if any(a in self.blocked for a in accounts) else None

    # ------------------------------------------------------------ actions

    def _do_create_ad(self, seller, amount, min_amount, max_amount, window, buy=False):
        """A sell ad from `seller`, or with `buy` a buy ad (then `seller` is its maker, the buyer)."""
        error = None
        if self.paused:
            error = "pausable: contract is paused"
        elif amount == 0:
            error = "otc_escrow: zero amount"
        elif min_amount == 0:
            error = "otc_escrow: zero min amount"
        elif min_amount > max_amount:
            error = "otc_escrow: min above max"
        elif max_amount > MAX_UINT96:
            error = "otc_escrow: max amount too large"
        elif window < MIN_WINDOW:
            error = "otc_escrow: payment window too short"
        elif window > MAX_WINDOW:
            error = "otc_escrow: payment window too long"
        elif not buy and (amount > self.balances[seller] or seller in self.blocked):
            error = "otc_escrow: token transfer failed"
        name = "create_buy_ad" if buy else "create_ad"
        data = calldata(
            name,
            ["address", "uint256", "uint256", "bytes3", "uint256", "uint256", "uint256", "uint256", "bytes32"],
            [self.ctx.token, amount, PRICE, USD, min_amount, max_amount, window, 0b101, TERMS_HASH],
        )
        self._send(name, seller, data, error, "AdCreated")
        if error is None:
            self.ads[len(self.ads) + 1] = dict(
                maker=seller,
                side=SIDE_BUY if buy else SIDE_SELL,
                available=amount,
                locked=0,
                min=min_amount,
                max=max_amount,
                window=window,
                active=True,
                closed=False,
            )
            if not buy:
                self.balances[seller] -= amount

    def _do_top_up(self, ad_id, sender, amount):
        error = "pausable: contract is paused" if self.paused else self._maker_ad_error(ad_id, sender)
        buy = error is None and self.ads[ad_id]["side"] == SIDE_BUY
        if error is None:
            if amount == 0:
                error = "otc_escrow: zero amount"
            elif not buy and (amount > self.balances[sender] or sender in self.blocked):
                error = "otc_escrow: token transfer failed"
        self._send("top_up", sender, calldata("top_up", ["uint256", "uint256"], [ad_id, amount]), error, "AdToppedUp")
        if error is None:
            self.ads[ad_id]["available"] += amount
            if not buy:  # a buy ad only wants more
                self.balances[sender] -= amount

    def _do_withdraw(self, ad_id, sender, amount):
        error = self._maker_ad_error(ad_id, sender)
        if error is None:
            if amount == 0:
                error = "otc_escrow: zero amount"
            elif amount > self.ads[ad_id]["available"]:
                error = "otc_escrow: amount exceeds available"
            elif self.ads[ad_id]["side"] == SIDE_SELL:
                error = self._transfer_error(sender)
        self._send(
            "withdraw", sender, calldata("withdraw", ["uint256", "uint256"], [ad_id, amount]), error, "AdWithdrawn"
        )
        if error is None:
            self.ads[ad_id]["available"] -= amount
            if self.ads[ad_id]["side"] == SIDE_SELL:  # a buy ad only wants less
                self.balances[sender] += amount

    def _do_close_ad(self, ad_id, sender):
        error = self._maker_ad_error(ad_id, sender)
        sell = error is None and self.ads[ad_id]["side"] == SIDE_SELL
        if sell and self.ads[ad_id]["available"]:
            error = self._transfer_error(sender)
        self._send("close_ad", sender, calldata("close_ad", ["uint256"], [ad_id]), error, "AdClosed")
        if error is None:
            ad = self.ads[ad_id]
            if sell:  # a buy ad refunds nothing
                self.balances[sender] += ad["available"]
            ad.update(available=0, active=False, closed=True)

    def _do_pause_or_resume_ad(self, ad_id, sender, resume):
        error = self._maker_ad_error(ad_id, sender)
        if error is None:
            if resume and self.ads[ad_id]["active"]:
                error = "otc_escrow: ad already active"
            elif not resume and not self.ads[ad_id]["active"]:
                error = "otc_escrow: ad already paused"
        name = "resume_ad" if resume else "pause_ad"
        self._send(name, sender, calldata(name, ["uint256"], [ad_id]), error, "AdResumed" if resume else "AdPaused")
        if error is None:
            self.ads[ad_id]["active"] = resume

    def _open_error(self, ad, side, amount):
        """The checks of `_load_open_ad`, common to both sides."""
        if self.paused:
            return "pausable: contract is paused"
        if ad is None:
            return "otc_escrow: unknown ad"
        if ad["side"] != side:
            return "otc_escrow: not a buy ad" if side == SIDE_BUY else "otc_escrow: not a sell ad"
        if not ad["active"]:
            return "otc_escrow: ad not active"
        if amount < ad["min"]:
            return "otc_escrow: amount below ad minimum"
        if amount > ad["max"]:
            return "otc_escrow: amount above ad maximum"
        return None

    def _do_open_order(self, ad_id, sender, amount, max_price):
        ad = self.ads.get(ad_id)
        error = self._open_error(ad, SIDE_SELL, amount)
        if error is None:
            if sender == ad["maker"]:
                error = "otc_escrow: seller cannot buy own ad"
            elif max_price < PRICE:
                error = "otc_escrow: price above max_price"
            elif amount > ad["available"]:
                error = "otc_escrow: amount exceeds available"
        data = calldata("open_order", ["uint256", "uint256", "uint256"], [ad_id, amount, max_price])
        self._send("open_order", sender, data, error, "OrderOpened")
        if error is None:
            self._add_order(ad_id, amount, buyer=sender, seller=ad["maker"], buy=False)

    def _do_open_sell_order(self, ad_id, sender, amount, min_price):
        ad = self.ads.get(ad_id)
        error = self._open_error(ad, SIDE_BUY, amount)
        if error is None:
            if sender == ad["maker"]:
                error = "otc_escrow: buyer cannot sell to own ad"
            elif min_price > PRICE:
                error = "otc_escrow: price below min_price"
            elif amount > ad["available"]:
                error = "otc_escrow: amount exceeds wanted"
            elif amount > self.balances[sender] or sender in self.blocked:
                error = "otc_escrow: token transfer failed"
        data = calldata("open_sell_order", ["uint256", "uint256", "uint256"], [ad_id, amount, min_price])
        self._send("open_sell_order", sender, data, error, "OrderOpened")
        if error is None:
            self.balances[sender] -= amount  # the seller's tokens come in now
            self._add_order(ad_id, amount, buyer=ad["maker"], seller=sender, buy=True)

    def _add_order(self, ad_id, amount, *, buyer, seller, buy):
        ad = self.ads[ad_id]
        ad["available"] -= amount
        ad["locked"] += amount
        self.orders[len(self.orders) + 1] = dict(
            buyer=buyer,
            seller=seller,
            buy=buy,
            ad=ad_id,
            amount=amount,
            status=OPEN,
            deadline=self.now + ad["window"],
            paid_at=0,
            fee_bps=self.fee_bps,
        )

    def _do_mark_paid(self, order_id, sender, ref):
        order = self.orders.get(order_id)
        now = self.now + 1
        error = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif sender != order["buyer"]:
            error = "otc_escrow: caller is not the buyer"
        elif order["status"] != OPEN:
            error = "otc_escrow: order not open"
        elif now > order["deadline"]:
            error = "otc_escrow: payment deadline passed"
        elif ref == b"\x00" * 32:
            error = "otc_escrow: empty payment reference"
        self._send(
            "mark_paid", sender, calldata("mark_paid", ["uint256", "bytes32"], [order_id, ref]), error, "OrderPaid"
        )
        if error is None:
            order.update(status=PAID, paid_at=now)

    def _do_release(self, order_id, sender):
        order = self.orders.get(order_id)
        error = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif order["status"] not in (OPEN, PAID):
            error = "otc_escrow: order not releasable"
        elif sender != self._seller_of(order_id):
            error = "otc_escrow: caller is not the seller"
        self._send("release", sender, calldata("release", ["uint256"], [order_id]), error, "OrderReleased")
        if error is None:
            order["status"] = RELEASED
            self.ads[order["ad"]]["locked"] -= order["amount"]
            fee = order["amount"] * order["fee_bps"] // BPS
            if order["fee_bps"] != self.fee_bps:
                STATS["branches"]["release at a fee rate since changed"] += 1
            self.accrued += fee
            self._pay(order["buyer"], order["amount"] - fee, "buyer on release")

    def _do_cancel(self, order_id, sender):
        order = self.orders.get(order_id)
        error = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif sender != order["buyer"]:
            error = "otc_escrow: caller is not the buyer"
        elif order["status"] not in (OPEN, PAID):
            error = "otc_escrow: order not cancellable"
        self._send("cancel", sender, calldata("cancel", ["uint256"], [order_id]), error, "OrderCancelled")
        if error is None:
            order["status"] = CANCELLED
            self._unlock(order)

    def _do_cancel_expired(self, order_id, sender):
        order = self.orders.get(order_id)
        now = self.now + 1
        error = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif order["status"] != OPEN:
            error = "otc_escrow: order not open"
        elif now <= order["deadline"]:
            error = "otc_escrow: deadline not reached"
        self._send(
            "cancel_expired", sender, calldata("cancel_expired", ["uint256"], [order_id]), error, "OrderCancelled"
        )
        if error is None:
            order["status"] = CANCELLED
            self._unlock(order)

    def _do_extend_deadline(self, order_id, sender, extra):
        order = self.orders.get(order_id)
        now = self.now + 1
        error = None
        deadline = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif sender != self._seller_of(order_id):
            error = "otc_escrow: caller is not the seller"
        elif order["status"] != OPEN:
            error = "otc_escrow: order not open"
        elif extra == 0:
            error = "otc_escrow: zero extension"
        else:
            deadline = max(order["deadline"], now) + extra
            if deadline > now + MAX_WINDOW:
                error = "otc_escrow: extension above cap"
        data = calldata("extend_deadline", ["uint256", "uint256"], [order_id, extra])
        self._send("extend_deadline", sender, data, error, "DeadlineExtended")
        if error is None:
            order["deadline"] = deadline

    def _do_open_dispute(self, order_id, sender):
        order = self.orders.get(order_id)
        now = self.now + 1
        error = None
        if order is None:
            error = "otc_escrow: unknown order"
        elif order["status"] != PAID:
            error = "otc_escrow: order not paid"
        elif sender != order["buyer"]:
            if sender != self._seller_of(order_id):
                error = "otc_escrow: caller is not a party"
            elif now < order["paid_at"] + SELLER_GRACE:
                error = "otc_escrow: seller dispute grace not over"
        data = calldata("open_dispute", ["uint256", "bytes32"], [order_id, EVIDENCE])
        self._send("open_dispute", sender, data, error, "DisputeOpened")
        if error is None:
            order["status"] = DISPUTED

    def _do_resolve_dispute(self, order_id, sender, buyer_bps):
        order = self.orders.get(order_id)
        error = None
        if sender != self.ctx.arbitrator:
            error = "access_control: account is missing role"
        elif order is None:
            error = "otc_escrow: unknown order"
        elif order["status"] != DISPUTED:
            error = "otc_escrow: order not disputed"
        elif buyer_bps > BPS:
            error = "otc_escrow: buyer_bps above 10000"
        data = calldata("resolve_dispute", ["uint256", "uint256"], [order_id, buyer_bps])
        self._send("resolve_dispute", sender, data, error, "DisputeResolved")
        if error is None:
            order["status"] = RESOLVED
            ad = self.ads[order["ad"]]
            buyer_amount = order["amount"] * buyer_bps // BPS
            seller_amount = order["amount"] - buyer_amount
            fee = buyer_amount * order["fee_bps"] // BPS
            ad["locked"] -= order["amount"]
            STATS["branches"][
                f"resolve buyer_bps={'0' if buyer_bps == 0 else 'all' if buyer_bps == BPS else 'split'}"
            ] += 1
            if not ad["closed"]:
                # A sell ad's share goes back on sale; a buy ad wants again what its buyer did not get.
                ad["available"] += seller_amount
            if ad["closed"] or order["buy"]:
                STATS["branches"]["resolve on buy ad" if order["buy"] else "resolve on closed ad"] += 1
                if seller_amount:
                    self._pay(order["seller"], seller_amount, "seller on resolve")
            self.accrued += fee
            if buyer_amount != fee:
                self._pay(order["buyer"], buyer_amount - fee, "buyer on resolve")

    def _do_withdraw_fees(self, sender):
        error = None
        if sender not in (self.ctx.fee_recipient, self.ctx.admin):
            error = "otc_escrow: caller is not fee recipient or admin"
        elif self.accrued == 0:
            error = "otc_escrow: no fees to withdraw"
        else:
            error = self._transfer_error(self.ctx.fee_recipient)
        data = calldata("withdraw_fees", ["address"], [self.ctx.token])
        self._send("withdraw_fees", sender, data, error, "FeesWithdrawn")
        if error is None:
            self.balances[self.ctx.fee_recipient] += self.accrued
            self.accrued = 0

    def _do_withdraw_credit(self, sender):
        nothing = self.credits[sender] == 0
        error = "otc_escrow: nothing to withdraw" if nothing else self._transfer_error(sender)
        data = calldata("withdraw_credit", ["address"], [self.ctx.token])
        self._send("withdraw_credit", sender, data, error, "CreditWithdrawn")
        if error is None:
            self.balances[sender] += self.credits[sender]
            self.credits[sender] = 0

    def _do_set_blocked(self, account, blocked):
        """The token's owner blocklists or clears an account (a call to the token)."""
        timestamp = self.now + 1
        data = calldata("set_blocked", ["address", "bool"], [account, blocked])
        receipt, reason = self.rpc.transact(self.ctx.admin, self.ctx.token, data, timestamp)
        self.now = timestamp
        assert reason is None and int(receipt["status"], 16) == 1, f"set_blocked reverted: {reason}"
        (self.blocked.add if blocked else self.blocked.discard)(account)
        STATS["ok"]["block" if blocked else "unblock"] += 1
        STATS["steps"] += 1

    # -------------------------------------------------------------- rules

    @initialize(
        amounts=st.tuples(ad_amounts, ad_amounts),
        min_amount=min_amounts,
        max_amount=max_amounts,
        window=windows,
        fits=st.tuples(big_selectors, big_selectors, big_selectors),
        stages=st.tuples(*[st.sampled_from([OPEN, PAID, DISPUTED])] * 4),
    )
    @counted
    def open_the_book(self, amounts, min_amount, max_amount, window, fits, stages):
        """Every example starts from a busy desk: each seller has an ad and each buyer an
        order, left open, paid or disputed; a buyer with no tokens has a buy ad that a seller
        has filled; so the random rules have something to act on on both sides."""
        for seller, amount in zip(self.ctx.sellers, amounts, strict=False):
            self._do_create_ad(seller, amount, min_amount, max_amount, window)
        for n, (buyer, fit, stage) in enumerate(zip(self.ctx.buyers, fits, stages, strict=False)):
            ad = self.ads[1 + n % 2]
            low, high = ad["min"], min(ad["max"], ad["available"])
            if low > high:
                continue
            self._do_open_order(1 + n % 2, buyer, low + fit % (high - low + 1), PRICE)
            order_id = len(self.orders)
            if stage != OPEN:
                self._do_mark_paid(order_id, buyer, PAYMENT_REF)
            if stage == DISPUTED:
                self._do_open_dispute(order_id, buyer)
        maker, taker = self.ctx.buyers[1], self.ctx.sellers[fits[0] % 2]
        self._do_create_ad(maker, amounts[1], min_amount, max_amount, window, buy=True)
        ad_id = len(self.ads)
        ad = self.ads[ad_id]
        low, high = ad["min"], min(ad["max"], ad["available"], self.balances[taker])
        if low <= high:
            self._do_open_sell_order(ad_id, taker, low + fits[1] % (high - low + 1), PRICE)
            order_id = len(self.orders)
            if stages[3] != OPEN:
                self._do_mark_paid(order_id, maker, PAYMENT_REF)
            if stages[3] == DISPUTED:
                self._do_open_dispute(order_id, maker)

    @rule(pick=big_selectors, choice=st.integers(0, 19), bps=st.integers(0, BPS))
    @counted
    def advance_trade(self, pick, choice, bps):
        """Moves a live order one step along the happy or an unhappy path, by the right party
        (time edges included: exactly at a deadline, or one second past it); with no live
        order, opens one that fits an active ad."""
        step, edge = choice % 10, choice // 10
        live = [i for i in sorted(self.orders) if self.orders[i]["status"] in LIVE]
        if not live or step == 0 and len(live) < 4:
            active = [i for i in sorted(self.ads) if self.ads[i]["active"] and self.ads[i]["available"]]
            if not active:
                return self._do_create_ad(self.ctx.sellers[pick % 2], 1_000 * UNIT, UNIT, 500 * UNIT, HOUR)
            ad_id = active[pick % len(active)]
            ad = self.ads[ad_id]
            low, high = ad["min"], min(ad["max"], ad["available"])
            amount = low + (pick >> 3) % (high - low + 1) if low <= high else ad["available"]
            if ad["side"] == SIDE_BUY:
                # A seller other than the ad's maker fills it (with the tokens they have, or not).
                sellers = [a for a in self.ctx.sellers if a != ad["maker"]]
                return self._do_open_sell_order(ad_id, sellers[choice % len(sellers)], amount, PRICE)
            buyer = self.ctx.buyers[choice % len(self.ctx.buyers)]
            return self._do_open_order(ad_id, buyer, amount, PRICE)
        order_id = live[pick % len(live)]
        order = self.orders[order_id]
        buyer, seller = order["buyer"], self._seller_of(order_id)
        if order["status"] == OPEN:
            if step < 4:
                self._do_mark_paid(order_id, buyer, PAYMENT_REF)
            elif step == 4:
                # Pay exactly at the deadline (allowed) or one second late (refused).
                self.now = max(self.now, order["deadline"] - 1 + edge)
                self._do_mark_paid(order_id, buyer, PAYMENT_REF)
            elif step < 7:
                self._do_release(order_id, seller)
            elif step == 7:
                self._do_cancel(order_id, buyer)
            elif step == 8:
                self._do_extend_deadline(order_id, seller, HOUR if edge else 6 * DAY)
            else:
                # Anyone cancels at the deadline (refused) or one second after it.
                self.now = max(self.now, order["deadline"] - 1 + edge)
                self._do_cancel_expired(order_id, self._anyone(pick >> 5))
        elif order["status"] == PAID:
            if step < 4:
                self._do_release(order_id, seller)
            elif step < 6:
                self._do_open_dispute(order_id, buyer)
            elif step < 8:
                # The seller disputes one second before the grace ends (refused) or right at it.
                self.now = max(self.now, order["paid_at"] + SELLER_GRACE - 2 + edge)
                self._do_open_dispute(order_id, seller)
            else:
                self._do_cancel(order_id, buyer)
        else:
            buyer_bps = (0, BPS, bps, bps, bps)[pick % 5]
            self._do_resolve_dispute(order_id, self.ctx.arbitrator, buyer_bps)

    @rule(
        s=st.integers(0, 4),
        amount=ad_amounts,
        min_amount=min_amounts,
        max_amount=max_amounts,
        window=windows,
        fault=create_faults,
        buy=st.sampled_from([False, False, True]),
    )
    @counted
    def create_ad(self, s, amount, min_amount, max_amount, window, fault, buy):
        # A sell ad from a seller, or a buy ad from any trader (one with no tokens, too).
        seller = self.ctx.traders[s] if buy else self.ctx.sellers[s % 2]
        # Mostly valid terms; `fault` breaks one of them on purpose.
        if fault == "zero amount":
            amount = 0
        elif fault == "over balance":
            amount = self.balances[seller] + 1
        elif fault == "zero min":
            min_amount = 0
        elif fault == "min above max":
            min_amount = max_amount + 1
        elif fault == "max too large":
            max_amount = MAX_UINT96 + 1
        elif fault == "short window":
            window = MIN_WINDOW - 1
        elif fault == "long window":
            window = MAX_WINDOW + 1
        self._do_create_ad(seller, amount, min_amount, max_amount, window, buy)

    @rule(sel=selectors, owner=as_party, who=selectors, amount=top_up_amounts)
    @counted
    def top_up(self, sel, owner, who, amount):
        ad_id = self._pick_ad(sel)
        self._do_top_up(ad_id, self._ad_owner_or_not(ad_id, owner, who), amount)

    @rule(sel=selectors, owner=as_party, who=selectors, kind=amount_kinds, raw=st.integers(0, 2_000 * UNIT))
    @counted
    def withdraw(self, sel, owner, who, kind, raw):
        ad_id = self._pick_ad(sel)
        available = self.ads[ad_id]["available"] if ad_id in self.ads else 0
        amount = {"random": raw, "all": available, "half": available // 2, "zero": 0, "over": available + 1}[kind]
        self._do_withdraw(ad_id, self._ad_owner_or_not(ad_id, owner, who), amount)

    @rule(sel=selectors, owner=as_party, who=selectors)
    @counted
    def close_ad(self, sel, owner, who):
        ad_id = self._pick_ad(sel)
        self._do_close_ad(ad_id, self._ad_owner_or_not(ad_id, owner, who))

    @rule(sel=selectors, owner=as_party, who=selectors, resume=st.booleans())
    @counted
    def pause_or_resume_ad(self, sel, owner, who, resume):
        ad_id = self._pick_ad(sel)
        self._do_pause_or_resume_ad(ad_id, self._ad_owner_or_not(ad_id, owner, who), resume)

    @rule(
        sel=selectors,
        b=selectors,
        amount=order_amounts,
        mode=order_modes,
        fit=big_selectors,
        bad_price=rarely,
        wrong_side=rarely,
    )
    @counted
    def open_order(self, sel, b, amount, mode, fit, bad_price, wrong_side):
        """`open_order` on a sell ad, `open_sell_order` on a buy ad (with `wrong_side`, the
        other one, refused)."""
        ad_id = self._pick_ad(sel)
        ad = self.ads.get(ad_id)
        if ad is not None and mode == "fit":
            # An amount the ad can take, when there is one.
            low, high = ad["min"], min(ad["max"], ad["available"])
            if low <= high:
                amount = low + fit % (high - low + 1)
        buy_ad = ad is not None and ad["side"] == SIDE_BUY
        if buy_ad != wrong_side:
            # Mostly sellers; now and then a buyer (with no tokens, or the ad's own maker).
            pool = self.ctx.sellers * 3 + self.ctx.buyers
            self._do_open_sell_order(ad_id, pool[b % len(pool)], amount, PRICE + 1 if bad_price else PRICE)
        else:
            # Mostly buyers; now and then a seller (possibly on their own ad).
            pool = self.ctx.buyers * 3 + self.ctx.sellers
            self._do_open_order(ad_id, pool[b % len(pool)], amount, PRICE - 1 if bad_price else PRICE)

    @rule(sel=selectors, party=as_party, who=selectors, empty_ref=rarely, wait=waits)
    @counted
    def mark_paid(self, sel, party, who, empty_ref, wait):
        self._wait(wait)
        order_id = self._pick_order(sel, (OPEN,))
        order = self.orders.get(order_id)
        sender = order["buyer"] if (order and party) else self._anyone(who)
        self._do_mark_paid(order_id, sender, b"\x00" * 32 if empty_ref else PAYMENT_REF)

    @rule(sel=selectors, party=as_party, who=selectors)
    @counted
    def release(self, sel, party, who):
        order_id = self._pick_order(sel, (OPEN, PAID))
        sender = self._seller_of(order_id) if (order_id in self.orders and party) else self._anyone(who)
        self._do_release(order_id, sender)

    @rule(sel=selectors, party=as_party, who=selectors)
    @counted
    def cancel(self, sel, party, who):
        order_id = self._pick_order(sel, (OPEN, PAID))
        order = self.orders.get(order_id)
        sender = order["buyer"] if (order and party) else self._anyone(who)
        self._do_cancel(order_id, sender)

    @rule(sel=selectors, who=selectors, wait=waits)
    @counted
    def cancel_expired(self, sel, who, wait):
        self._wait(wait)
        self._do_cancel_expired(self._pick_order(sel, (OPEN,)), self._anyone(who))

    @rule(sel=selectors, party=as_party, who=selectors, extra=st.sampled_from([HOUR, 60, 0, DAY, 8 * DAY]), wait=waits)
    @counted
    def extend_deadline(self, sel, party, who, extra, wait):
        self._wait(wait)
        order_id = self._pick_order(sel, (OPEN,))
        sender = self._seller_of(order_id) if (order_id in self.orders and party) else self._anyone(who)
        self._do_extend_deadline(order_id, sender, extra)

    @rule(sel=selectors, who=st.sampled_from(["buyer", "buyer", "seller", "seller", "other"]), o=selectors, wait=waits)
    @counted
    def open_dispute(self, sel, who, o, wait):
        self._wait(wait)
        order_id = self._pick_order(sel, (PAID,))
        order = self.orders.get(order_id)
        if order is None or who == "other":
            sender = self._anyone(o, [order["buyer"], self._seller_of(order_id)] if order else [])
        else:
            sender = order["buyer"] if who == "buyer" else self._seller_of(order_id)
        self._do_open_dispute(order_id, sender)

    @rule(sel=selectors, arbiter=as_party, who=selectors, buyer_bps=bps_values)
    @counted
    def resolve_dispute(self, sel, arbiter, who, buyer_bps):
        sender = self.ctx.arbitrator if arbiter else self._anyone(who, [self.ctx.arbitrator])
        self._do_resolve_dispute(self._pick_order(sel, (DISPUTED,)), sender, buyer_bps)

    @rule(who=st.sampled_from(["recipient", "admin", "other"]), o=selectors, wait=waits)
    @counted
    def withdraw_fees(self, who, o, wait):
        self._wait(wait)
        if who == "recipient":
            sender = self.ctx.fee_recipient
        elif who == "admin":
            sender = self.ctx.admin
        else:
            sender = self._anyone(o, [self.ctx.admin])
        self._do_withdraw_fees(sender)

    @rule(who=selectors, coin=st.integers(0, 9))
    @counted
    def block_or_unblock(self, who, coin):
        # Now and then the token blocklists a trader or the fee recipient; most blocks are
        # lifted soon, so the desk keeps trading and the credits get withdrawn.
        pool = self.ctx.traders + [self.ctx.fee_recipient]
        live = [o for o in self.orders.values() if o["status"] in LIVE]
        if live and coin % 2 == 0:
            # A party of a live order, so that its settlement meets the refusal.
            order = live[who % len(live)]
            pool = [order["buyer"], order["seller"]]
        account = pool[(who >> 4) % len(pool)]
        if account in self.blocked:
            if coin < 7:
                self._do_set_blocked(account, False)
        elif coin < 4:
            self._do_set_blocked(account, True)

    @rule(pick=big_selectors, choice=st.integers(0, 3), bps=st.integers(0, BPS))
    @counted
    def settle_with_a_party_blocked(self, pick, choice, bps):
        """A live order settles while the token refuses the party it pays: a release or a
        resolution to a blocked buyer, a refund to a blocked seller of a closed ad or of a buy-ad order."""
        live = [i for i in sorted(self.orders) if self.orders[i]["status"] in LIVE]
        if not live:
            return
        order_id = live[pick % len(live)]
        order = self.orders[order_id]
        ad = self.ads[order["ad"]]
        buyer, seller = order["buyer"], order["seller"]
        if order["status"] == DISPUTED:
            for account in (buyer, seller)[: 1 + choice % 2]:
                if account not in self.blocked:
                    self._do_set_blocked(account, True)
            self._do_resolve_dispute(order_id, self.ctx.arbitrator, bps)
        elif choice < 2 or not (ad["closed"] or order["buy"]):
            if buyer not in self.blocked:
                self._do_set_blocked(buyer, True)
            self._do_release(order_id, seller)
        else:
            if seller not in self.blocked:
                self._do_set_blocked(seller, True)
            self._do_cancel(order_id, buyer)

    @rule(who=selectors, owed=st.sampled_from([True] * 4 + [False]), unblock_first=st.booleans())
    @counted
    def withdraw_credit(self, who, owed, unblock_first):
        # Mostly an account that is owed something (refused while still blocked, so half the
        # time the token lifts the block first), else anyone.
        owing = sorted(a for a, amount in self.credits.items() if amount)
        pool = owing if (owing and owed) else self.ctx.traders + [self.ctx.fee_recipient, self.ctx.admin]
        account = pool[who % len(pool)]
        if unblock_first and account in self.blocked:
            self._do_set_blocked(account, False)
        self._do_withdraw_credit(account)

    @rule(fee=fee_values, by_admin=as_party, o=selectors)
    @counted
    def set_fee(self, fee, by_admin, o):
        sender = self.ctx.admin if by_admin else self._anyone(o, [self.ctx.admin])
        error = None
        if sender != self.ctx.admin:
            error = "access_control: account is missing role"
        elif fee > MAX_FEE_BPS:
            error = "otc_escrow: fee above cap"
        self._send("set_fee", sender, calldata("set_fee", ["uint256"], [fee]), error, "FeeChanged")
        if error is None:
            self.fee_bps = fee

    @rule(coin=st.integers(0, 9), by_admin=st.sampled_from([True] * 5 + [False]), o=selectors)
    @counted
    def pause_or_unpause(self, coin, by_admin, o):
        # Keep the desk mostly open: when paused, unpause 9 times in 10; when open, pause 3
        # times in 10 (the other draws repeat the current state and must be refused).
        unpause = coin < 9 if self.paused else coin >= 3
        sender = self.ctx.admin if by_admin else self._anyone(o, [self.ctx.admin])
        error = None
        if sender != self.ctx.admin:
            error = "access_control: account is missing role"
        elif unpause and not self.paused:
            error = "pausable: contract is not paused"
        elif not unpause and self.paused:
            error = "pausable: contract is paused"
        name = "unpause" if unpause else "pause"
        self._send(name, sender, calldata(name), error, "Unpaused" if unpause else "Paused")
        if error is None:
            self.paused = not unpause

    # ---------------------------------------------------------- invariants

    def _read_state(self, n_ads, n_orders):
        ctx = self.ctx
        calls = [
            (ctx.token, calldata("balanceOf", ["address"], [ctx.escrow])),
            (ctx.token, calldata("totalSupply")),
            (ctx.escrow, calldata("accrued_fees", ["address"], [ctx.token])),
            (ctx.escrow, calldata("ad_count")),
            (ctx.escrow, calldata("order_count")),
            (ctx.escrow, calldata("fee_bps")),
            (ctx.escrow, calldata("paused")),
        ]
        calls += [(ctx.token, calldata("balanceOf", ["address"], [a])) for a in ctx.tracked]
        calls += [(ctx.escrow, calldata("credits", ["address", "address"], [a, ctx.token])) for a in ctx.tracked]
        calls += [(ctx.escrow, calldata("ads", ["uint256"], [i])) for i in range(1, n_ads + 1)]
        calls += [(ctx.escrow, calldata("orders", ["uint256"], [i])) for i in range(1, n_orders + 1)]
        raw = [words(r) for r in self.rpc.calls(calls)]
        head, raw = raw[:7], raw[7:]
        balances = {a: raw[i][0] for i, a in enumerate(ctx.tracked)}
        raw = raw[len(ctx.tracked) :]
        credits = {a: raw[i][0] for i, a in enumerate(ctx.tracked)}
        raw = raw[len(ctx.tracked) :]
        ads = {}
        for i, w in enumerate(raw[:n_ads], start=1):
            # maker, token, available, locked, price, fiat, min, max, window, methods, active, closed, side
            ads[i] = dict(
                maker=to_checksum_address(w[0].to_bytes(20, "big") if w[0] else b"\x00" * 20),
                token=w[1],
                available=w[2],
                locked=w[3],
                price=w[4],
                min=w[6],
                max=w[7],
                window=w[8],
                active=bool(w[10]),
                closed=bool(w[11]),
                side=w[12],
            )
        orders = {}
        for i, w in enumerate(raw[n_ads:], start=1):
            # buyer, status, deadline, paid_at, ad_id, amount, price, fee_bps, seller
            orders[i] = dict(
                buyer=to_checksum_address(w[0].to_bytes(20, "big")),
                seller=to_checksum_address(w[8].to_bytes(20, "big")),
                status=w[1],
                deadline=w[2],
                paid_at=w[3],
                ad=w[4],
                amount=w[5],
                price=w[6],
                fee_bps=w[7],
            )
        return dict(
            escrow_balance=head[0][0],
            total_supply=head[1][0],
            accrued=head[2][0],
            ad_count=head[3][0],
            order_count=head[4][0],
            fee_bps=head[5][0],
            paused=bool(head[6][0]),
            balances=balances,
            credits=credits,
            ads=ads,
            orders=orders,
        )

    @invariant()
    def state_matches_model(self):
        n_ads, n_orders = len(self.ads), len(self.orders)
        state = self._read_state(n_ads, n_orders)

        # Solvency: the escrow holds exactly what its books say. A buy ad's `available` is only
        # what its maker wants; the tokens of its orders (`locked`) are the sellers', held here.
        booked = sum(ad["locked"] + (ad["available"] if ad["side"] == SIDE_SELL else 0) for ad in state["ads"].values())
        credited = sum(state["credits"].values())
        assert state["escrow_balance"] == booked + state["accrued"] + credited, (
            f"escrow holds {state['escrow_balance']}, books say {booked} + fees {state['accrued']} + credits {credited}"
        )
        assert state["credits"] == self.credits
        assert state["ad_count"] == n_ads
        assert state["order_count"] == n_orders
        assert state["accrued"] == self.accrued
        assert state["fee_bps"] == self.fee_bps
        assert state["paused"] == self.paused

        # Nobody holds more (or less) than the rules give them; no token leaks anywhere.
        assert state["balances"] == self.balances
        assert sum(state["balances"].values()) + state["escrow_balance"] == state["total_supply"]

        for ad_id, ad in self.ads.items():
            onchain = state["ads"][ad_id]
            for key in ("maker", "side", "available", "locked", "min", "max", "window", "active", "closed"):
                assert onchain[key] == ad[key], f"ad {ad_id}.{key}: chain {onchain[key]} != model {ad[key]}"
            assert onchain["price"] == PRICE
            assert onchain["token"] == int(self.ctx.token, 16)
            # Locked tokens are exactly the amounts of the ad's live orders.
            live = sum(o["amount"] for o in self.orders.values() if o["ad"] == ad_id and o["status"] in LIVE)
            assert onchain["locked"] == live, f"ad {ad_id}: locked {onchain['locked']} != live orders {live}"

        changed = 0
        for order_id, order in self.orders.items():
            onchain = state["orders"][order_id]
            for key in ("buyer", "seller", "status", "deadline", "paid_at", "ad", "amount", "fee_bps"):
                assert onchain[key] == order[key], f"order {order_id}.{key}: chain {onchain[key]} != model {order[key]}"
            assert onchain["price"] == PRICE
            before = self.seen_status.get(order_id)
            if before is not None and onchain["status"] != before:
                changed += 1
                assert onchain["status"] in ALLOWED[before], f"order {order_id}: {before} -> {onchain['status']}"
            self.seen_status[order_id] = onchain["status"]
        # One transaction moves at most one order (so none is settled twice by one action).
        assert changed <= 1


# ---------------------------------------------------------------------- tests


def test_invariant__escrow_state_machine(
    chain, project, accounts, escrow, admin, arbitrator, fee_recipient, invariant_steps
):
    sellers = [accounts[4], accounts[8]]
    buyers = [accounts[5], accounts[6], accounts[9]]
    # A USDC-style token its owner (admin) can blocklist accounts on; otherwise a plain ERC-20.
    token = admin.deploy(project.BlocklistToken)
    escrow.set_token_allowed(token, True, sender=admin)
    for account in sellers + buyers[:1]:
        token.mint(account, 20_000 * UNIT, sender=admin)
        token.approve(escrow, 2**256 - 1, sender=account)

    abi_selectors = {
        keccak(text=m.selector)[:4]
        for m in list(escrow.contract_type.mutable_methods) + list(escrow.contract_type.view_methods)
    }
    for name, sel in SIG.items():
        if name not in ("balanceOf", "totalSupply", "set_blocked"):
            assert sel in abi_selectors, f"escrow has no {name}"

    ctx = Context(chain, escrow, token, accounts, admin, arbitrator, fee_recipient, sellers, buyers)
    started = time.perf_counter()
    target = invariant_steps
    try:
        while STATS["steps"] < target:
            remaining = target - STATS["steps"]
            examples = max(1, math.ceil(remaining / STEPS_PER_EXAMPLE))
            run_state_machine_as_test(
                lambda: EscrowMachine(ctx),
                settings=settings(
                    max_examples=examples,
                    stateful_step_count=STEPS_PER_EXAMPLE,
                    deadline=None,
                    database=None,
                    phases=(Phase.generate, Phase.shrink),
                    suppress_health_check=[
                        HealthCheck.function_scoped_fixture,
                        HealthCheck.too_slow,
                        HealthCheck.data_too_large,
                        HealthCheck.filter_too_much,
                    ],
                ),
            )
    finally:
        if ctx.snapshot is not None:
            chain.restore(ctx.snapshot)
        STATS["seconds"] += time.perf_counter() - started
    print(
        f"\ninvariant: {STATS['steps']} steps in {STATS['examples']} examples, {STATS['seconds']:.1f}s,"
        f" {STATS['waits']} time moves"
        f"\n  succeeded: {dict(STATS['ok'])}\n  reverted:  {dict(STATS['reverted'])}"
        f"\n  rules: {dict(STATS['rules'])}"
        f"\n  branches: {dict(STATS['branches'])}"
        f"\n  reasons: {STATS['reasons'].most_common()}"
    )


def test_invariant__ran_enough_steps(invariant_steps):
    """Runs after the state machine test: at least `--invariant-steps` steps were executed."""
    assert STATS["steps"] >= invariant_steps, f"only {STATS['steps']} of {invariant_steps} steps ran"
    # The run did trade: orders were opened, paid and disputed (every example starts that way),
    # and some actions were refused.
    for name in (
        "create_ad",
        "create_buy_ad",
        "open_order",
        "open_sell_order",
        "mark_paid",
        "open_dispute",
        "block",
        "withdraw_credit",
    ):
        assert STATS["ok"][name] > 0, f"{name} never succeeded"
    # Refused payouts happened and were credited.
    assert any(key.startswith("credited: ") for key in STATS["branches"]), STATS["branches"]
    assert sum(STATS["reverted"].values()) > 0
