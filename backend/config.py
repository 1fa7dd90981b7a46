"""All settings in one class, read from SENTINEL_* environment variables or `.env`."""

from functools import lru_cache
from pathlib import Path

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


def with_manifest_modes(settings: Settings, manifest: dict) -> Settings:
    """The settings with the deployment's modes where the environment leaves them unset."""
    if "producer_check" in settings.model_fields_set or "producer_check" not in manifest:
        return settings
    return settings.model_copy(update={"producer_check": bool(manifest["producer_check"])})


@lru_cache
def get_settings() -> Settings:
    return Settings()
