"""All settings in one class, read from SENTINEL_* environment variables or `.env`."""

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# Anvil's well-known account 9: the local relayer node that `ape run deploy` admits.
# Only ever a default for the local chain; set SENTINEL_RELAYER_PRIVATE_KEY elsewhere.
ANVIL_RELAYER_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"
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

    # http
    max_body_bytes: int = 1_000_000
    frontend_dir: Path = ROOT / "frontend"

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
    monitoring_face_bad_frames: int = 3
    monitoring_face_bad_window_seconds: int = 120
    # Refused blocks and silent nodes are looked for this often (with the indexer running).
    monitoring_sweep_seconds: float = 2.0
    monitoring_feed_poll_seconds: float = 0.2


def check_keys_for_chain(settings: Settings, chain_id: int) -> None:
    """Anvil's well-known keys are public: on any chain but a local one they would hand
    the relayer's funds and standing to anyone."""
    if chain_id not in LOCAL_CHAIN_IDS and settings.relayer_private_key.get_secret_value() == ANVIL_RELAYER_KEY:
        raise RuntimeError(
            f"refusing to start on chain {chain_id} with Anvil's well-known relayer key: "
            "set SENTINEL_RELAYER_PRIVATE_KEY to the key of an admitted node"
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
