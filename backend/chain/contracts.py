"""The deployment manifest, the project's contracts and their event decoding."""

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from web3 import Web3
from web3.contract import Contract


class ManifestError(RuntimeError):
    pass


@dataclass(frozen=True, eq=False)
class EventSpec:
    contract: str
    name: str
    indexed: list[tuple[str, str]]  # (name, abi type) in topic order
    data: list[tuple[str, str]]

    def decode(self, topics: list[bytes], data: bytes) -> dict:
        args = {name: _decode_word(typ, topic) for (name, typ), topic in zip(self.indexed, topics[1:], strict=False)}
        if not self.data:
            return args
        if self.static_data:
            # Static types only: the data is one 32-byte word per argument.
            for i, (name, typ) in enumerate(self.data):
                args[name] = _decode_word(typ, data[32 * i : 32 * i + 32])
        else:
            values = abi_decode([typ for _, typ in self.data], data)
            args.update({name: value for (name, _), value in zip(self.data, values, strict=False)})
        return args

    @cached_property
    def static_data(self) -> bool:
        return all(_is_static_word(typ) for _, typ in self.data)


def _is_static_word(typ: str) -> bool:
    return typ in ("address", "bool") or (typ.startswith(("uint", "bytes")) and typ != "bytes" and "[" not in typ)


def _decode_word(typ: str, word: bytes):
    """One ABI word (a topic or a static argument); other types go through eth_abi."""
    if typ.startswith("uint"):
        return int.from_bytes(word, "big")
    if typ == "address":
        return checksum("0x" + word[12:].hex())
    if typ == "bool":
        return word[-1] == 1
    if typ.startswith("bytes") and typ != "bytes":
        return word[: int(typ[5:])]
    return abi_decode([typ], word)[0]  # dynamic types in topics are hashes; others are rare


def _abi_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return item["type"]


@dataclass
class Deployment:
    chain_id: int
    deploy_block: int
    addresses: dict[str, str]  # contract name -> checksum address
    abis: dict[str, list]
    tokens: list[dict]
    token_abi: list
    relayer: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path) -> "Deployment":
        try:
            manifest = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ManifestError(f"no deployment manifest at {path}: run `ape run deploy` first") from None
        return cls(
            chain_id=manifest["chain_id"],
            deploy_block=manifest["deploy_block"],
            addresses={name: to_checksum_address(c["address"]) for name, c in manifest["contracts"].items()},
            abis={name: c["abi"] for name, c in manifest["contracts"].items()},
            tokens=manifest.get("tokens", []),
            token_abi=manifest.get("token_abi", []),
            relayer=manifest.get("relayer"),
            raw=manifest,
        )

    def contract(self, w3: Web3, name: str) -> Contract:
        return w3.eth.contract(address=self.addresses[name], abi=self.abis[name])

    @cached_property
    def events(self) -> dict[tuple[str, bytes], EventSpec]:
        """(contract address lowercased, topic0) -> how to decode that log."""
        specs = {}
        for name, abi in self.abis.items():
            for item in abi:
                if item.get("type") != "event" or item.get("anonymous"):
                    continue
                spec = EventSpec(
                    contract=name,
                    name=item["name"],
                    indexed=[(i["name"], _abi_type(i)) for i in item["inputs"] if i.get("indexed")],
                    data=[(i["name"], _abi_type(i)) for i in item["inputs"] if not i.get("indexed")],
                )
                specs[(self.addresses[name].lower(), event_abi_to_log_topic(item))] = spec
        return specs

    def decode_log(self, log) -> tuple[EventSpec, dict] | None:
        """Decodes a log as web3 formats it or as raw JSON-RPC returns it (hex strings)."""
        topics = [_as_bytes(t) for t in log["topics"]]
        if not topics:
            return None
        spec = self.events.get((log["address"].lower(), topics[0]))
        if spec is None:
            return None
        return spec, spec.decode(topics, _as_bytes(log["data"]))


def _as_bytes(value) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


@lru_cache(maxsize=65_536)
def checksum(address: str) -> str:
    """Checksumming hashes the address: the same few addresses recur in every window."""
    return to_checksum_address(address)


def jsonable(value):
    """Event arguments as JSON: addresses checksummed, bytes as 0x hex, big ints as text."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) >= 2**53 else value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return checksum(value)
    return value
