"""The deployment manifest: one JSON file per chain that the backend and frontend read."""

import json
from pathlib import Path

DEFAULT_MANIFEST_DIR = Path(__file__).resolve().parent.parent / "deployments"
# Chain ids of local development chains (Anvil's default and the one `make run` uses).
LOCAL_CHAIN_IDS = frozenset({1337, 31337})


def manifest_path(directory, chain_id: int) -> Path:
    return Path(directory) / f"{chain_id}.json"


def load_manifest(path: Path):
    try:
        return json.loads(Path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_manifest(path: Path, manifest: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(path)  # readers never see half a file


def refresh_relayer(manifest: dict, nodes) -> bool:
    """A proposed relayer admitted since (by other authorities' approvals): the manifest
    says so now. True when the manifest changed."""
    status = manifest.get("relayer_status")
    if not status or status["status"] == "admitted" or not nodes.is_authorized(status["address"]):
        return False
    manifest["relayer_status"] = {**status, "status": "admitted", "approvals": status.get("quorum")}
    manifest["relayer"] = status["address"]
    return True
