"""Every table of every domain, imported in one place for Alembic and the tests."""

from backend.auth.models import AuthSession, SiweNonce, User  # noqa: F401
from backend.chain.models import ChainEvent, ChainIncident, IndexedBlock  # noqa: F401
from backend.kyc.models import KycApplication, KycAttestation, KycAuditEntry  # noqa: F401
from backend.ledger.models import LedgerAccount, LedgerTransfer  # noqa: F401
from backend.market.models import Ad, Credit, Order  # noqa: F401
from backend.monitoring.models import Alert, CameraFrame, CameraSession, FailedSignIn, StaffAction  # noqa: F401
from backend.negotiation.models import ChatMessage  # noqa: F401
from backend.nodes.models import Authority, NodeAdmission, NodeChallenge, NodeHeartbeat, NodeProposal, NodeRecord  # noqa: F401
from backend.payments.models import PaymentDetail, PaymentProof, TermsDocument  # noqa: F401
from backend.reputation.models import Feedback  # noqa: F401
