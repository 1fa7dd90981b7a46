"""Monitoring: storing alerts once, what staff do with them, account freezes, the chain
and nodes panels, and the swept rules (refused blocks, silent nodes) and failed sign-ins."""

import contextlib
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, inspect, text
from sqlmodel import Session, col, select

from backend.auth.models import User
from backend.chain.deps import ChainContext
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock, utcnow
from backend.chain.projections import get
from backend.config import Settings
from backend.errors import DomainError
from backend.kyc.models import KycAttestation
from backend.market.models import Order
from backend.monitoring import audit, rules
from backend.monitoring.models import Alert, FailedSignIn, StaffAction
from backend.monitoring.schemas import NodeHealth, NodesPanel
from backend.nodes import service as nodes
from backend.nodes.models import NodeRecord
from backend.protocol import Side
from backend.relay.service import order_parties
from backend.validation import parse_address

# ------------------------------------------------------------------ alerts


def raise_alert(session: Session, draft: rules.Draft) -> Alert | None:
    """Adds the alert unless its key is already stored (or pending in this session).

    The indexer flushes once per window, so keys added earlier in the same window are
    remembered in the session as well as looked up in the table."""
    pending = session.info.setdefault("monitoring_alert_keys", set())
    if draft.key in pending:
        return None
    if session.exec(select(Alert.id).where(Alert.dedupe_key == draft.key)).first() is not None:
        return None
    pending.add(draft.key)
    now = utcnow()
    alert = Alert(
        dedupe_key=draft.key[:255],
        rule=draft.rule,
        severity=draft.severity,
        title=draft.title[:512],
        subject_kind=draft.subject_kind,
        subject=draft.subject[:66],
        address=draft.address,
        order_id=draft.order_id,
        block_number=draft.block_number,
        evidence=draft.evidence,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    return alert


def list_alerts(
    session: Session,
    *,
    status: str | None,
    severity: str | None,
    rule: str | None,
    address: str | None,
    order_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Alert], int]:
    query = select(Alert)
    if status == "unresolved":
        query = query.where(Alert.status != "resolved")
    elif status:
        query = query.where(Alert.status == status)
    if severity:
        query = query.where(Alert.severity == severity)
    if rule:
        query = query.where(Alert.rule == rule)
    if address:
        query = query.where(Alert.address == address)
    if order_id is not None:
        query = query.where(Alert.order_id == order_id)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Alert.id).desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def get_alert(session: Session, *, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise DomainError(404, f"no alert {alert_id}")
    return alert


def alert_actions(session: Session, *, alert_id: int) -> list[StaffAction]:
    rows = session.exec(select(StaffAction).where(StaffAction.alert_id == alert_id).order_by(StaffAction.id))
    return list(rows.all())


def _change(
    session: Session, alert: Alert, *, actor: User, action: str, note: str | None, logged: str | None = None
) -> Alert:
    alert.updated_at = utcnow()
    alert.revision += 1
    if note:
        alert.note = note
    session.add(alert)
    audit.record(session, actor=actor, action=action, alert_id=alert.id, address=alert.address, note=logged or note)
    session.commit()
    session.refresh(alert)
    return alert


def _open(alert: Alert) -> None:
    if alert.status == "resolved":
        raise DomainError(409, f"alert {alert.id} is already resolved")


def acknowledge(session: Session, *, alert_id: int, actor: User, note: str | None) -> Alert:
    alert = get_alert(session, alert_id=alert_id)
    _open(alert)
    if alert.status == "open":
        alert.status = "acknowledged"
    return _change(session, alert, actor=actor, action="acknowledge", note=note)


def staff_users(session: Session) -> list[User]:
    users = session.exec(select(User).where(col(User.roles).contains("monitor") | col(User.roles).contains("admin")))
    return [u for u in users.all() if u.has_role("monitor")]


def find_staff(session: Session, *, ident: str) -> User:
    address = parse_address(ident)
    query = select(User).where(User.address == address) if address else select(User).where(User.username == ident)
    user = session.exec(query).first()
    if user is None or not user.has_role("monitor"):
        raise DomainError(422, f"{ident!r} is not a member of the monitoring staff (role monitor or admin)")
    if user.frozen:
        raise DomainError(422, f"{ident!r} is frozen and cannot take alerts")
    return user


def assign(session: Session, *, alert_id: int, actor: User, assignee: str, note: str | None) -> Alert:
    alert = get_alert(session, alert_id=alert_id)
    _open(alert)
    staff = find_staff(session, ident=assignee)
    alert.status = "assigned"
    alert.assignee = audit.actor_name(staff)
    logged = f"to {alert.assignee}" + (f": {note}" if note else "")
    return _change(session, alert, actor=actor, action="assign", note=note, logged=logged)


def resolve(session: Session, *, alert_id: int, actor: User, note: str) -> Alert:
    alert = get_alert(session, alert_id=alert_id)
    _open(alert)
    alert.status = "resolved"
    return _change(session, alert, actor=actor, action="resolve", note=note)


# ----------------------------------------------------------------- accounts


@dataclass
class Standing:
    address: str
    known: bool
    frozen: bool
    frozen_at: object | None
    frozen_by: str | None
    freeze_note: str | None
    kyc: KycAttestation | None
    kyc_min_level: int | None
    open_alerts: int
    actions: list[StaffAction]

    @property
    def in_force(self) -> list[str]:
        """Which freezes hold: the desk's ("backend") and KYC revoked on chain ("chain")."""
        held = ["backend"] if self.frozen else []
        if self.kyc is not None and self.kyc.revoked:
            held.append("chain")
        return held


def standing(session: Session, *, address: str, kyc_min_level: int | None) -> Standing:
    user = session.exec(select(User).where(User.address == address)).first()
    actions = session.exec(
        select(StaffAction).where(StaffAction.address == address).order_by(col(StaffAction.id).desc()).limit(50)
    ).all()
    last_freeze = next((a for a in actions if a.action == "freeze"), None)
    open_alerts = session.exec(
        select(func.count(Alert.id)).where(Alert.address == address, Alert.status != "resolved")
    ).one()
    frozen = bool(user and user.frozen)
    return Standing(
        address=address,
        known=user is not None,
        frozen=frozen,
        frozen_at=last_freeze.at if frozen and last_freeze else None,
        frozen_by=last_freeze.actor if frozen and last_freeze else None,
        freeze_note=last_freeze.note if frozen and last_freeze else None,
        kyc=session.get(KycAttestation, address),
        kyc_min_level=kyc_min_level,
        open_alerts=open_alerts,
        actions=list(actions),
    )


def set_frozen(session: Session, *, address: str, frozen: bool, actor: User, note: str) -> User:
    """Freeze or unfreeze an account; an address never seen gets a user row, so the freeze
    also holds for its first sign-in."""
    user = session.exec(select(User).where(User.address == address)).first()
    if user is None:
        user = User(address=address)
    if user.id is not None and user.id == actor.id:
        raise DomainError(400, "you cannot freeze or unfreeze your own account")
    if frozen and user.frozen:
        raise DomainError(409, f"{address} is already frozen")
    if not frozen and not user.frozen:
        raise DomainError(409, f"{address} is not frozen")
    user.frozen = frozen
    session.add(user)
    audit.record(session, actor=actor, action="freeze" if frozen else "unfreeze", address=address, note=note)
    session.commit()
    session.refresh(user)
    return user


def refuse_frozen_relay(session: Session, *, chain, action: str, order_id: int) -> None:
    """A frozen account's signed actions are not relayed (it pays its own gas, or the
    KYC revocation on chain stops it)."""
    parties = order_parties(chain=chain, order_id=order_id)
    refuse_if_frozen(session, address=parties.signer_for(action), what=f"relaying {action}")


def refuse_if_frozen(session: Session, *, address: str, what: str) -> None:
    frozen = session.exec(select(User.frozen).where(User.address == address)).first()
    if frozen:
        raise DomainError(403, f"{what} refused: the account {address} is frozen by the desk")


# -------------------------------------------------------------- chain panel


def recent_escrow_events(session: Session, *, limit: int) -> list[ChainEvent]:
    rows = session.exec(
        select(ChainEvent)
        .where(ChainEvent.contract == "OtcEscrow")
        .order_by(col(ChainEvent.block_number).desc(), col(ChainEvent.log_index).desc())
        .limit(limit)
    )
    return list(rows.all())


def recent_incidents(session: Session, *, limit: int) -> list[ChainIncident]:
    return list(session.exec(select(ChainIncident).order_by(col(ChainIncident.id).desc()).limit(limit)).all())


# -------------------------------------------------------------- nodes panel


def nodes_panel(
    session: Session, *, chain: ChainContext, settings: Settings, config: rules.RuleConfig, now_ms: int | None = None
) -> NodesPanel:
    """The nodes domain's network status, narrowed to the nodes ever admitted and judged
    silent by the node_silent rule's own limit."""
    status = nodes.network_status(session=session, chain=chain, settings=settings)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    listed = []
    for node in status.nodes:
        if node.state == "pending":  # a candidate waiting for quorum is the nodes page's business
            continue
        active = node.state == "admitted"
        last = node.last_heartbeat_ms
        listed.append(
            NodeHealth(
                address=node.address,
                endpoint=node.endpoint,
                status="active" if active else "revoked",
                last_heartbeat_ms=last,
                heartbeat_age_seconds=max(0, now_ms - last) / 1000 if last is not None else None,
                silent=active and rules.is_silent(last_heartbeat_ms=last, now_ms=now_ms, config=config),
            )
        )
    return NodesPanel(
        authority_count=status.authority_count,
        quorum=status.quorum,
        silence_seconds=config.node_silence_seconds,
        nodes=listed,
    )


# --------------------------------------------------------- chain event rules


def remember_event(session: Session, event) -> None:
    """Events of the window being indexed, which the table does not hold yet (a replay's
    events are stored rows, with an id: the table answers for them)."""
    if getattr(event, "id", None) is not None:
        return
    seen = session.info.setdefault("monitoring_events", {})
    seen[(event.tx_hash, event.log_index)] = event


def taker(session: Session, event) -> str:
    """Who opened the order of an `OrderOpened` event (see `rules.Taker`): the market's
    projection, fed first, wrote the order with its ad's side."""
    order = get(session, Order, int(event.args["order_id"]))
    return event.args["seller"] if order is not None and order.side == Side.BUY else event.args["buyer"]


def count_recent(session: Session, event, *, name: str, match: dict, since: int) -> int:
    """Events `name` of `event.contract` whose arguments equal `match` (`taker`: see
    `taker`), with a timestamp of at least `since`, up to and including `event` in chain
    order: the stored ones and those of the window being indexed."""
    position = (event.block_number, event.log_index)
    query = select(ChainEvent).where(
        ChainEvent.contract == event.contract,
        ChainEvent.name == name,
        ChainEvent.timestamp >= since,
        ChainEvent.block_number <= event.block_number,
    )
    for value in match.values():
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            query = query.where(col(ChainEvent.participants).contains(f" {value.lower()} "))
    candidates = {(e.tx_hash, e.log_index): e for e in session.exec(query).all()}
    for key, e in session.info.get("monitoring_events", {}).items():
        if e.contract == event.contract and e.name == name and e.timestamp >= since:
            candidates.setdefault(key, e)
    return sum(
        1
        for e in candidates.values()
        if (e.block_number, e.log_index) <= position and all(_same(_arg(session, e, k), v) for k, v in match.items())
    )


def _arg(session: Session, event, key: str):
    return taker(session, event) if key == "taker" else event.args.get(key)


def _same(a, b) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def apply_chain_rules(session: Session, event) -> None:
    config = rules.config_for(session.get_bind())
    remember_event(session, event)

    def recent(name: str, match: dict, since: int) -> int:
        return count_recent(session, event, name=name, match=match, since=since)

    for rule in rules.CHAIN_RULES.get((event.contract, event.name), ()):
        if not config.enabled(rule.__name__):
            continue
        draft = rule(event, config, recent, lambda e: taker(session, e))
        if draft is not None:
            raise_alert(session, draft)


# ------------------------------------------------------------- swept rules


def sweep(session: Session, *, config: rules.RuleConfig, now_ms: int | None = None) -> int:
    """Refused blocks and silent nodes into alerts; returns how many were raised."""
    raised = 0
    if config.enabled("unauthorized_producer"):
        incidents = session.exec(select(ChainIncident).where(ChainIncident.kind == "unauthorized_producer")).all()
        for incident in incidents:
            block = session.get(IndexedBlock, incident.block_number)
            draft = rules.unauthorized_producer(
                block_number=incident.block_number,
                producer=block.producer if block is not None else None,
                detail=incident.detail,
            )
            raised += raise_alert(session, draft) is not None
    if config.enabled("node_silent"):
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        for node, last_ms in last_heartbeats(session).items():
            draft = rules.node_silent(node=node, last_heartbeat_ms=last_ms, now_ms=now_ms, config=config)
            if draft is not None:
                raised += raise_alert(session, draft) is not None
    session.commit()
    return raised


def last_heartbeats(session: Session) -> dict[str, int]:
    """The last heartbeat (ms) of each admitted node. Heartbeats belong to the nodes
    domain; where its table is not there yet, no node is judged silent."""
    bind = session.get_bind()
    if not inspect(bind).has_table("node_heartbeat"):
        return {}
    active = set(session.exec(select(NodeRecord.address).where(NodeRecord.active == True)).all())  # noqa: E712
    rows = session.execute(text("SELECT address, received_ms FROM node_heartbeat")).all()
    return {address: int(received) for address, received in rows if address in active}


# ---------------------------------------------------------- failed sign-ins


def record_failed_sign_in(
    session: Session, *, method: str, ident: str, ip: str | None, reason: str, config: rules.RuleConfig
) -> Alert | None:
    failure = FailedSignIn(method=method, ident=ident[:128], ip=ip, reason=reason[:256])
    session.add(failure)
    session.flush()
    since = failure.at - timedelta(seconds=config.failed_sign_in_window_seconds)
    count = session.exec(
        select(func.count(FailedSignIn.id)).where(FailedSignIn.ident == failure.ident, FailedSignIn.at >= since)
    ).one()
    alert = None
    if config.enabled("failed_sign_ins"):
        draft = rules.failed_sign_ins(ident=failure.ident, failure_id=failure.id, count=count, config=config)
        if draft is not None:
            alert = raise_alert(session, draft)
    session.commit()
    return alert


def siwe_address(message: str) -> str | None:
    """The address line of an EIP-4361 message, without trusting the rest of it."""
    lines = message.splitlines()
    with contextlib.suppress(IndexError):
        return parse_address(lines[1].strip())
    return None


@contextlib.contextmanager
def watch_sign_in(session: Session, *, settings, method: str, ident: str | None, ip: str | None):
    """Wraps a sign-in: a refusal is recorded (and may raise the burst alert), then re-raised."""
    try:
        yield
    except DomainError as refused:
        session.rollback()
        record_failed_sign_in(
            session,
            method=method,
            ident=ident or "unknown",
            ip=ip,
            reason=refused.detail,
            config=rules.RuleConfig.from_settings(settings),
        )
        raise
