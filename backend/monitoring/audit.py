"""Every staff action of the monitoring center goes through `record`: the one place that
writes it to the audit log (KYC's hash-chained one) and to the center's own action list,
in the caller's transaction."""

import logging

from sqlmodel import Session

from backend.auth.models import User
from backend.kyc.service import _audit as kyc_audit
from backend.monitoring.models import StaffAction

log = logging.getLogger("sentinel.monitoring")


def actor_name(user: User) -> str:
    return user.username or user.address or f"user {user.id}"


def record(
    session: Session,
    *,
    actor: User,
    action: str,
    alert_id: int | None = None,
    address: str | None = None,
    note: str | None = None,
) -> StaffAction:
    entry = StaffAction(actor=actor_name(actor), action=action, alert_id=alert_id, address=address, note=note)
    session.add(entry)
    # The shared, hash-chained audit log (KYC's): same transaction, so both or neither.
    kyc_audit(
        session,
        actor=actor,
        action=f"monitoring.{action}",
        application=None,
        detail={"alert_id": alert_id, "account": address, "note": note},
    )
    log.info("staff action %s by %s (alert %s, account %s)", action, entry.actor, alert_id, address)
    return entry
