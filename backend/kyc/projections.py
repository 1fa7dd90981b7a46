"""KycRegistry events -> attestations."""

from sqlmodel import Session

from backend.chain.models import ChainEvent
from backend.chain.projections import Projection, add, get
from backend.kyc.models import KycAttestation

projection = Projection("kyc", tables=[KycAttestation])


@projection.on("KycRegistry", "Attested")
def attested(session: Session, event: ChainEvent) -> None:
    a = event.args
    record = get(session, KycAttestation, a["account"]) or KycAttestation(account=a["account"])
    record.level = int(a["level"])
    record.expires_at = int(a["expires_at"])
    record.record_hash = a["record_hash"]
    record.officer = a["officer"]
    record.attested_at = event.timestamp
    record.attested_block = event.block_number
    record.revoked = False
    record.revoke_reason = None
    add(session, record, record.account)


@projection.on("KycRegistry", "Revoked")
def revoked(session: Session, event: ChainEvent) -> None:
    record = get(session, KycAttestation, event.args["account"])
    if record is not None:
        record.revoked = True
        record.revoke_reason = event.args["reason"]
