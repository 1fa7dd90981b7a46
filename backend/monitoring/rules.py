"""The rules that raise alerts: each a small function from what happened to a `Draft`
(or None), with its thresholds in `RuleConfig` (from settings). Adding a rule is one
function here, its entry in a table below, and its test.

A draft's `key` names the rule, the subject and the triggering event(s): storing an alert
is refused for a key already stored, so a replay or a re-index never doubles an alert.
"""

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from backend.config import Settings, get_settings
from backend.protocol import CancelReason


@dataclass(frozen=True)
class RuleConfig:
    disabled: frozenset[str] = frozenset()
    large_order_amount: int = 5_000 * 10**6
    burst_orders: int = 3
    burst_window_seconds: int = 600
    cancel_count: int = 3
    cancel_window_seconds: int = 3600
    failed_sign_ins: int = 5
    failed_sign_in_window_seconds: int = 300
    node_silence_seconds: int = 120
    face_bad_frames: int = 3

    def enabled(self, rule: str) -> bool:
        return rule not in self.disabled

    @classmethod
    def from_settings(cls, settings: Settings) -> "RuleConfig":
        return cls(
            disabled=frozenset(settings.monitoring_disabled_rules),
            large_order_amount=settings.monitoring_large_order_amount,
            burst_orders=settings.monitoring_burst_orders,
            burst_window_seconds=settings.monitoring_burst_window_seconds,
            cancel_count=settings.monitoring_cancel_count,
            cancel_window_seconds=settings.monitoring_cancel_window_seconds,
            failed_sign_ins=settings.monitoring_failed_sign_ins,
            failed_sign_in_window_seconds=settings.monitoring_failed_sign_in_window_seconds,
            node_silence_seconds=settings.monitoring_node_silence_seconds,
            face_bad_frames=settings.monitoring_face_bad_frames,
        )


# The projection runs inside the indexer, which knows no app settings: each app registers
# its rule configuration against its database engine (see center.py).
_configs: "weakref.WeakKeyDictionary[object, RuleConfig]" = weakref.WeakKeyDictionary()


def configure(engine, config: RuleConfig) -> None:
    _configs[engine] = config


def config_for(engine) -> RuleConfig:
    config = _configs.get(engine)
    return config if config is not None else RuleConfig.from_settings(get_settings())


@dataclass
class Draft:
    rule: str
    severity: str  # info | warning | critical
    key: str
    title: str
    subject_kind: str  # address | order | block | node | user
    subject: str
    address: str | None = None
    order_id: int | None = None
    block_number: int | None = None
    evidence: list[dict] = field(default_factory=list)


def tx_link(tx_hash: str) -> dict:
    return {"kind": "tx", "label": tx_hash, "href": f"explorer.html?q={tx_hash}"}


def order_link(order_id: int) -> dict:
    return {"kind": "order", "label": f"#{order_id}", "href": f"order.html?id={order_id}"}


def address_link(address: str) -> dict:
    return {"kind": "address", "label": address, "href": f"explorer.html?q={address}"}


def block_link(number: int) -> dict:
    return {"kind": "block", "label": str(number), "href": f"explorer.html?q={number}"}


# ------------------------------------------------------------ chain events
# Each rule: (event, config, recent, taker) -> Draft | None.

# `recent(name, match, since)`: how many events `name` whose arguments equal `match`
# happened since `since` (chain time), up to and including the event at hand.
# A match may name `taker` (see `Taker`) besides the event's own arguments.
Recent = Callable[[str, dict, int], int]
# `taker(event)`: who opened the order of an `OrderOpened` event: its buyer on a sell ad,
# its seller when a seller filled a buy ad (the event names both parties, not the side).
Taker = Callable[[object], str]


def buyer_takes(event) -> str:
    """The taker where every ad is a sell ad (rules called without the index at hand)."""
    return event.args["buyer"]


def _event_key(rule: str, subject: str, event) -> str:
    return f"{rule}:{subject}:{event.tx_hash}:{event.log_index}"


def large_order(event, config: RuleConfig, recent: Recent, taker: Taker = buyer_takes) -> Draft | None:
    """An order for at least `large_order_amount` base units of the token, about its taker."""
    amount = int(event.args["amount"])
    if amount < config.large_order_amount:
        return None
    order_id = int(event.args["order_id"])
    who = taker(event)
    return Draft(
        rule="large_order",
        severity="warning",
        key=_event_key("large_order", f"order{order_id}", event),
        title=f"order #{order_id} is for {amount} base units (threshold {config.large_order_amount})",
        subject_kind="order",
        subject=str(order_id),
        address=who,
        order_id=order_id,
        block_number=event.block_number,
        evidence=[order_link(order_id), tx_link(event.tx_hash), address_link(who)],
    )


def order_burst(event, config: RuleConfig, recent: Recent, taker: Taker = buyer_takes) -> Draft | None:
    """A taker's `burst_orders`-th order within `burst_window_seconds` (a buyer on sell ads,
    a seller on buy ads, or both): once per burst, raised by the order that reaches the
    count (the next ones do not repeat it)."""
    buyer = taker(event)
    count = recent("OrderOpened", {"taker": buyer}, event.timestamp - config.burst_window_seconds)
    if count != config.burst_orders:
        return None
    order_id = int(event.args["order_id"])
    minutes = config.burst_window_seconds / 60
    return Draft(
        rule="order_burst",
        severity="warning",
        key=_event_key("order_burst", buyer, event),
        title=f"{buyer} opened {count} orders within {minutes:g} min",
        subject_kind="address",
        subject=buyer,
        address=buyer,
        order_id=order_id,
        block_number=event.block_number,
        evidence=[address_link(buyer), order_link(order_id), tx_link(event.tx_hash)],
    )


def repeated_cancels(event, config: RuleConfig, recent: Recent, taker: Taker = buyer_takes) -> Draft | None:
    """A buyer's `cancel_count`-th own cancellation within `cancel_window_seconds` (an
    expiry is nobody's choice and does not count)."""
    if CancelReason.from_code(int(event.args["reason"])) != CancelReason.BUYER:
        return None
    who = event.args["by"]
    count = recent(
        "OrderCancelled", {"by": who, "reason": event.args["reason"]}, event.timestamp - config.cancel_window_seconds
    )
    if count != config.cancel_count:
        return None
    order_id = int(event.args["order_id"])
    minutes = config.cancel_window_seconds / 60
    return Draft(
        rule="repeated_cancels",
        severity="warning",
        key=_event_key("repeated_cancels", who, event),
        title=f"{who} cancelled {count} orders within {minutes:g} min",
        subject_kind="address",
        subject=who,
        address=who,
        order_id=order_id,
        block_number=event.block_number,
        evidence=[address_link(who), order_link(order_id), tx_link(event.tx_hash)],
    )


def dispute_opened(event, config: RuleConfig, recent: Recent, taker: Taker = buyer_takes) -> Draft | None:
    order_id = int(event.args["order_id"])
    by = event.args["by"]
    return Draft(
        rule="dispute_opened",
        severity="warning",
        key=_event_key("dispute_opened", f"order{order_id}", event),
        title=f"dispute opened on order #{order_id} by {by}",
        subject_kind="order",
        subject=str(order_id),
        address=by,
        order_id=order_id,
        block_number=event.block_number,
        evidence=[order_link(order_id), tx_link(event.tx_hash), address_link(by)],
    )


CHAIN_RULES: dict[tuple[str, str], list] = {
    ("OtcEscrow", "OrderOpened"): [large_order, order_burst],
    ("OtcEscrow", "OrderCancelled"): [repeated_cancels],
    ("OtcEscrow", "DisputeOpened"): [dispute_opened],
}


# ------------------------------------------------------- swept conditions


def unauthorized_producer(*, block_number: int, producer: str | None, detail: str) -> Draft:
    """A block the indexer refused (chain_incident "unauthorized_producer")."""
    who = producer or "unknown"
    return Draft(
        rule="unauthorized_producer",
        severity="critical",
        key=f"unauthorized_producer:{block_number}:{who}",
        title=f"block {block_number} refused: {detail}",
        subject_kind="block",
        subject=str(block_number),
        address=producer,
        block_number=block_number,
        evidence=[block_link(block_number)] + ([address_link(producer)] if producer else []),
    )


def is_silent(*, last_heartbeat_ms: int | None, now_ms: int, config: RuleConfig) -> bool:
    """No heartbeat for `node_silence_seconds` or more. A node never heard from is silent
    too: the nodes panel says so, while `node_silent` alerts only on a heartbeat that
    stopped (its key names that heartbeat)."""
    if last_heartbeat_ms is None:
        return True
    return (now_ms - last_heartbeat_ms) / 1000 >= config.node_silence_seconds


def node_silent(*, node: str, last_heartbeat_ms: int, now_ms: int, config: RuleConfig) -> Draft | None:
    """An admitted node whose last heartbeat is older than `node_silence_seconds`; once
    per silence (a new heartbeat and a new silence raise a new alert)."""
    if not is_silent(last_heartbeat_ms=last_heartbeat_ms, now_ms=now_ms, config=config):
        return None
    silent_for = (now_ms - last_heartbeat_ms) / 1000
    return Draft(
        rule="node_silent",
        severity="critical",
        key=f"node_silent:{node}:{last_heartbeat_ms}",
        title=f"node {node} sent no heartbeat for {silent_for:.0f} s (limit {config.node_silence_seconds} s)",
        subject_kind="node",
        subject=node,
        address=node,
        evidence=[address_link(node)],
    )


def failed_sign_ins(*, ident: str, failure_id: int, count: int, config: RuleConfig) -> Draft | None:
    """The `failed_sign_ins`-th refused sign-in for one address or username within the window."""
    if count != config.failed_sign_ins:
        return None
    minutes = config.failed_sign_in_window_seconds / 60
    is_address = ident.startswith("0x") and len(ident) == 42
    return Draft(
        rule="failed_sign_ins",
        severity="warning",
        key=f"failed_sign_ins:{ident}:{failure_id}",
        title=f"{count} failed sign-ins for {ident} within {minutes:g} min",
        subject_kind="address" if is_address else "user",
        subject=ident[:66],
        address=ident if is_address else None,
        evidence=[address_link(ident)] if is_address else [],
    )


# ------------------------------------------------------------------ camera


def frame_link(frame_id: int, sha256: str) -> dict:
    return {"kind": "frame", "label": sha256[:16], "href": f"/api/monitoring/camera/frames/{frame_id}/thumbnail"}


@dataclass
class FrameRun:
    """A camera session's current run of equal verdicts, the newest frame included."""

    address: str
    order_id: int
    state: str
    length: int
    start_frame: int
    frame_id: int
    sha256: str
    distance: float | None


def _camera_draft(rule: str, severity: str, run: FrameRun, title: str) -> Draft:
    return Draft(
        rule=rule,
        severity=severity,
        key=f"{rule}:{run.address}:{run.order_id}:{run.start_frame}",
        title=title,
        subject_kind="address",
        subject=run.address,
        address=run.address,
        order_id=run.order_id,
        evidence=[frame_link(run.frame_id, run.sha256), order_link(run.order_id), address_link(run.address)],
    )


def face_mismatch(run: FrameRun, config: RuleConfig) -> Draft | None:
    """`face_bad_frames` frames in a row showing someone other than the verified trader."""
    if run.state != "mismatch" or run.length != config.face_bad_frames:
        return None
    title = (
        f"{run.address} on order #{run.order_id}: {run.length} frames in a row show someone else "
        f"(distance {run.distance})"
    )
    return _camera_draft("face_mismatch", "critical", run, title)


def face_absent(run: FrameRun, config: RuleConfig) -> Draft | None:
    """`face_bad_frames` frames in a row with no face at all."""
    if run.state != "no_face" or run.length != config.face_bad_frames:
        return None
    title = f"{run.address} on order #{run.order_id}: no face in {run.length} frames in a row"
    return _camera_draft("face_absent", "warning", run, title)


def several_faces(run: FrameRun, config: RuleConfig) -> Draft | None:
    """Several people in front of the trader's camera: at the first such frame of a run."""
    if run.state != "several_faces" or run.length != 1:
        return None
    return _camera_draft("several_faces", "warning", run, f"{run.address} on order #{run.order_id}: several faces")


CAMERA_RULES = [face_mismatch, face_absent, several_faces]


def describe(config: RuleConfig) -> list[dict]:
    """Every rule with whether it is on and its thresholds, for the center's page."""
    rules = [
        ("large_order", {"min_amount": config.large_order_amount}),
        ("order_burst", {"orders": config.burst_orders, "window_seconds": config.burst_window_seconds}),
        ("repeated_cancels", {"cancels": config.cancel_count, "window_seconds": config.cancel_window_seconds}),
        ("dispute_opened", {}),
        ("unauthorized_producer", {}),
        ("node_silent", {"silence_seconds": config.node_silence_seconds}),
        (
            "failed_sign_ins",
            {"failures": config.failed_sign_ins, "window_seconds": config.failed_sign_in_window_seconds},
        ),
        ("face_mismatch", {"frames_in_a_row": config.face_bad_frames}),
        ("face_absent", {"frames_in_a_row": config.face_bad_frames}),
        ("several_faces", {}),
    ]
    return [{"rule": name, "enabled": config.enabled(name), "params": params} for name, params in rules]
