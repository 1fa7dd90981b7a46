"""All settings in one class, read from SENTINEL_* environment variables or `.env`."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# Anvil's well-known account 9: the local relayer node that `ape run deploy` admits.
# Only ever a default for the local chain; set SENTINEL_RELAYER_PRIVATE_KEY elsewhere.
ANVIL_RELAYER_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
# Anvil's well-known accounts 0, 7 and 8: the three NodeRegistry authorities that
# `ape run deploy` sets up on a local chain. Local defaults only, like the relayer key.
ANVIL_AUTHORITY_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
)
# Anvil's well-known account 0: the deployer, to whom `ape run deploy` grants KycRegistry's
# officer role on a local chain. Only a default there; set SENTINEL_KYC_OFFICER_PRIVATE_KEY elsewhere.
ANVIL_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# A published key for the local KYC keyring: fine for demo data, refused on any other chain.
LOCAL_KYC_KEY_ID = "local-1"
LOCAL_KYC_KEY = "c2VudGluZWwtbG9jYWwta3ljLWtleS1ub3Qtc2VjcmU="
# Chain ids of local development chains (Anvil's default and the one `make run` uses).
LOCAL_CHAIN_IDS = frozenset({1337, 31337})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SENTINEL_", env_file=".env", extra="ignore")

    # chain
    rpc_url: str = "http://127.0.0.1:8545"
    # The RPC URL wallets are told to add; the backend's own may be internal. Default: rpc_url.
    public_rpc_url: str | None = None
    manifest_path: Path = ROOT / "deployments" / "1337.json"
    relayer_private_key: SecretStr = SecretStr(ANVIL_RELAYER_KEY)

    # deployers (issue 10): whether the indexer refuses blocks whose producer (coinbase)
    # NodeRegistry does not authorize. Right on the desk's own permissioned chain; on a
    # public network (Sepolia, an L2) its producers are not in NodeRegistry, so the check
    # is off there. When SENTINEL_PRODUCER_CHECK is not set, the deploy manifest's
    # "producer_check" decides (`ape run deploy --producer-check/--no-producer-check`).
    producer_check: bool = True

    # storage: a SQLite file by default, PostgreSQL by URL
    database_url: str = f"sqlite:///{ROOT / 'run' / 'sentinel.db'}"

    # indexer
    indexer_enabled: bool = True
    confirmations: int = 0
    indexer_poll_seconds: float = 0.25
    indexer_window_blocks: int = 2_000

    # sign-in
    public_origin: str = "http://127.0.0.1:8000"
    siwe_domains: list[str] = ["127.0.0.1:8000", "localhost:8000"]
    siwe_nonce_ttl_seconds: int = 300
    session_ttl_seconds: int = 24 * 3600
    login_max_failures: int = 5
    login_lockout_seconds: int = 15 * 60

    # nodes: admission of permissioned nodes and relaying through them
    # Authority keys this backend decides with (each decision is made per key); a
    # production authority holds one, in development one backend holds all three.
    authority_keys: list[SecretStr] = [SecretStr(k) for k in ANVIL_AUTHORITY_KEYS]
    # A challenge: packets x 2**difficulty_bits sha256 tries, about 1 s for an honest
    # candidate here; the answer must arrive within node_challenge_seconds.
    node_challenge_packets: int = 48
    node_challenge_difficulty_bits: int = 14
    node_challenge_seconds: float = 5.0
    node_open_challenges_max: int = 5
    node_min_cpu_cores: int = 1
    node_min_memory_mb: int = 1024
    node_min_disk_free_gb: float = 1.0
    # A node whose last heartbeat is older than this is not routed to.
    node_heartbeat_ttl_seconds: float = 30.0
    relay_node_timeout_seconds: float = 15.0
    # When no admitted node takes a relay, send it with relayer_private_key (the desk's
    # own node key). Off: only admitted node agents relay.
    relay_fallback_to_own_key: bool = False
    # ledger and payment details (issue 8)
    # A desk payment's pending transfer outlives the order's payment deadline by this much.
    ledger_pending_margin_seconds: int = 15 * 60
    ledger_expiry_poll_seconds: float = 5.0
    # Keyring for payment details and proofs at rest: {"k1": "<base64 of 32 bytes>"}; rows keep
    # the id of the key that sealed them, new rows use payment_key_id. When empty, a random
    # key is made once in payment_key_file (local use only: set the keyring elsewhere).
    payment_keys: dict[str, SecretStr] = {}
    payment_key_id: str = "k1"
    payment_key_file: Path = ROOT / "run" / "payment-keys.json"
    payment_proof_max_bytes: int = 512 * 1024

    # http
    max_body_bytes: int = 1_000_000
    frontend_dir: Path = ROOT / "frontend"

    # push across processes and WebSocket origins (backend/push.py, backend/auth/deps.py)
    # The follower's longest wait between two looks at the pushed tables (a write wakes it sooner).
    push_poll_seconds: float = 0.2
    # Origins whose pages may open the WebSockets, besides public_origin and http(s)://<siwe_domains>.
    allowed_origins: list[str] = []
    # ---- kyc: face matching, liveness, officer desk, personal data at rest
    # Face distance (dlib 128-d embeddings): at most `accept` is a match; above `reject` a
    # mismatch; between, an officer decides. The library's own tolerance is 0.6.
    kyc_accept_distance: float = 0.50
    kyc_reject_distance: float = 0.60
    # Liveness: the nose tip's shift in the face's own affine frame (eyes, mouth), in
    # inter-ocular units, that counts as head movement; the eye-openness ratio that is a blink.
    kyc_liveness_min_parallax: float = 0.05
    kyc_liveness_blink_ratio: float = 0.65
    kyc_min_frames: int = 3
    kyc_max_frames: int = 8
    kyc_max_image_bytes: int = 10 * 1024 * 1024
    kyc_max_image_pixels: int = 40_000_000  # checked from the header, before decoding
    kyc_detect_size: int = 640  # images are downscaled to this many pixels on the long side
    kyc_workers: int = 1  # processes doing face work (dlib uses one core each)
    # The KYC upload (a document and up to kyc_max_frames selfies) may exceed max_body_bytes.
    kyc_max_upload_bytes: int = 100 * 1024 * 1024
    # AES-GCM keyring for personal data: {key id: base64 32-byte key}; new rows use the current id.
    kyc_keys: dict[str, SecretStr] = {LOCAL_KYC_KEY_ID: SecretStr(LOCAL_KYC_KEY)}
    kyc_current_key_id: str = LOCAL_KYC_KEY_ID
    # The desk's officer key that sends KycRegistry.attest / revoke.
    kyc_officer_private_key: SecretStr = SecretStr(ANVIL_DEPLOYER_KEY)
    kyc_default_validity_days: int = 365
    # Rejected or withdrawn applications lose their personal data after this many days.
    kyc_retention_days: int = 90

    # monitoring: rules and their thresholds, the center's live feed
    # Rule names to switch off, e.g. ["large_order"] (see GET /api/monitoring/rules).
    monitoring_disabled_rules: list[str] = []
    # In the token's base units (the local stablecoin has 6 decimals: 5,000 tokens).
    monitoring_large_order_amount: int = 5_000 * 10**6
    monitoring_burst_orders: int = 3
    monitoring_burst_window_seconds: int = 600
    monitoring_cancel_count: int = 3
    monitoring_cancel_window_seconds: int = 3600
    monitoring_failed_sign_ins: int = 5
    monitoring_failed_sign_in_window_seconds: int = 300
    monitoring_node_silence_seconds: int = 120
    # Camera: this many frames in a row of someone else (or of no face) raise an alert.
    monitoring_face_bad_frames: int = 3
    # Refused blocks and silent nodes are looked for this often (with the indexer running).
    monitoring_sweep_seconds: float = 2.0
    monitoring_feed_poll_seconds: float = 0.2
    # camera monitoring: "required" keeps the order page's actions closed without the camera
    monitoring_camera_policy: Literal["required", "optional"] = "optional"
    monitoring_camera_interval_seconds: float = 3.0  # the order page sends a frame this often
    monitoring_camera_min_interval_seconds: float = 1.0  # per user: faster frames are refused (429)
    monitoring_camera_max_frame_bytes: int = 200_000
    monitoring_camera_max_pixels: int = 640 * 480
    monitoring_camera_detect_size: int = 320
    monitoring_camera_upsample: int = 1
    # Frame thumbnails are erased after this (kept while the order is in dispute); hashes stay.
    monitoring_camera_retention_days: float = 30.0


def check_keys_for_chain(settings: Settings, chain_id: int) -> None:
    """Anvil's well-known keys are public: on any chain but a local one they would hand
    the relayer's funds and standing to anyone."""
    own_key = settings.relay_fallback_to_own_key  # the relayer key is only used as the fallback
    if (
        own_key
        and chain_id not in LOCAL_CHAIN_IDS
        and settings.relayer_private_key.get_secret_value() == ANVIL_RELAYER_KEY
    ):
        raise RuntimeError(
            f"refusing to start on chain {chain_id} with Anvil's well-known relayer key: "
            "set SENTINEL_RELAYER_PRIVATE_KEY to the key of an admitted node"
        )
    held = {key.get_secret_value().lower() for key in settings.authority_keys}
    if chain_id not in LOCAL_CHAIN_IDS and held & set(ANVIL_AUTHORITY_KEYS):
        raise RuntimeError(
            f"refusing to start on chain {chain_id} with Anvil's well-known authority keys: "
            "set SENTINEL_AUTHORITY_KEYS to this authority's own key(s), or []"
        )
    if chain_id not in LOCAL_CHAIN_IDS and settings.kyc_officer_private_key.get_secret_value() == ANVIL_DEPLOYER_KEY:
        raise RuntimeError(
            f"refusing to start on chain {chain_id} with Anvil's well-known deployer key as the KYC officer: "
            "set SENTINEL_KYC_OFFICER_PRIVATE_KEY"
        )
    if chain_id not in LOCAL_CHAIN_IDS and any(
        key.get_secret_value() == LOCAL_KYC_KEY for key in settings.kyc_keys.values()
    ):
        raise RuntimeError(
            f"refusing to start on chain {chain_id} with the published local KYC key: "
            "set SENTINEL_KYC_KEYS to your own keyring"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()


def with_manifest_modes(settings: Settings, manifest: dict) -> Settings:
    """The settings with the deployment's modes where the environment leaves them unset."""
    if "producer_check" in settings.model_fields_set or "producer_check" not in manifest:
        return settings
    return settings.model_copy(update={"producer_check": bool(manifest["producer_check"])})
