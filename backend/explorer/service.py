"""The explorer's one search box: tell what was pasted, look it up on the chain and in the
indexed tables, and decode it with the project's ABIs."""

import re
from dataclasses import dataclass

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import func, or_
from sqlmodel import Session, select
from web3.exceptions import BlockNotFound, TransactionNotFound

from backend.chain.contracts import jsonable
from backend.chain.deps import ChainContext
from backend.chain.models import ChainEvent, IndexedBlock
from backend.errors import DomainError
from backend.explorer.schemas import (
    AddressResult,
    AdResult,
    BlockResult,
    ChainEventPublic,
    DecodedCall,
    DecodedEvent,
    KycPublic,
    NodePublic,
    OrderResult,
    SearchResponse,
    TokenBalance,
    TxResult,
)
from backend.kyc.models import KycAttestation
from backend.market.models import Ad, Order
from backend.market.schemas import AdPublic, OrderPublic
from backend.nodes.models import NodeRecord
from backend.validation import is_hash32, parse_address

ACCEPTED = (
    "search for a transaction or block hash (0x + 64 hex digits), an address (0x + 40 hex digits), "
    'a block number, or an ad or order id ("ad 12", "order 5")'
)
EVENTS_LIMIT = 20
BLOCK_TX_LIMIT = 100
# Ids and block numbers live in 64-bit signed columns: anything past that cannot exist.
MAX_ID = 2**63 - 1

_NUMBER = re.compile(r"^(?:(block|ad|order)\s*)?#?\s*(\d{1,80})$", re.IGNORECASE)

_MINIMAL_ERC20_ABI = [
    {
        "type": "function",
        "name": "balanceOf",
        "stateMutability": "view",
        "inputs": [{"name": "account", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


@dataclass(frozen=True)
class Query:
    kind: str  # "hash" | "address" | "number"
    value: str | int
    only: str | None = None  # "block" | "ad" | "order" for a prefixed number


def parse_query(text: str) -> Query:
    text = text.strip()
    if not text:
        raise DomainError(422, f"the search box is empty: {ACCEPTED}")
    if is_hash32(text):
        return Query("hash", text.lower())
    address = parse_address(text)
    if address is not None:
        return Query("address", address)
    match = _NUMBER.match(text)
    if match:
        prefix, digits = match.groups()
        return Query("number", int(digits), prefix.lower() if prefix else None)
    raise DomainError(422, f"cannot search for {text!r}: {ACCEPTED}")


def search(*, session: Session, chain: ChainContext, text: str) -> SearchResponse:
    query = parse_query(text)
    shown = text.strip()
    if query.kind == "hash":
        found = tx_result(chain=chain, tx_hash=query.value) or block_result(
            session=session, chain=chain, block_id=query.value
        )
        results = [found] if found else []
        message = None if results else f"no transaction or block with hash {query.value} on this chain"
    elif query.kind == "address":
        results = [address_result(session=session, chain=chain, address=query.value)]
        message = None
    else:
        results = number_results(session=session, chain=chain, number=query.value, only=query.only)
        what = query.only or "block, ad or order"
        message = None if results else f"no {what} numbered {query.value}"
    return SearchResponse(query=shown, results=results, message=message)


# ---------------------------------------------------------------- transactions


def tx_result(*, chain: ChainContext, tx_hash: str) -> TxResult | None:
    w3 = chain.w3
    try:
        tx = w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return None
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        receipt = None  # still pending

    known = _known_contracts(chain)
    to = tx.get("to")
    to_name, to_abi = known.get(to.lower(), (None, None)) if to else (None, None)
    call = _decode_call(chain, HexBytes(tx["input"]), to_name, to_abi) if to and len(tx["input"]) >= 4 else None

    timestamp = None
    status = "pending"
    if receipt is not None:
        status = "success" if receipt["status"] == 1 else "reverted"
        timestamp = w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    contract_address = receipt.get("contractAddress") if receipt is not None else None
    return TxResult(
        hash=tx["hash"].to_0x_hex(),
        block_number=tx.get("blockNumber"),
        block_hash=tx["blockHash"].to_0x_hex() if tx.get("blockHash") else None,
        timestamp=timestamp,
        from_=tx["from"],
        to=to,
        to_name=to_name,
        contract_address=contract_address,
        status=status,
        nonce=tx["nonce"],
        gas_used=receipt["gasUsed"] if receipt is not None else None,
        value=tx["value"],
        call=call,
        events=[_decode_event(chain, known, entry) for entry in receipt["logs"]] if receipt is not None else [],
    )


def _known_contracts(chain: ChainContext) -> dict[str, tuple[str, list]]:
    """Lowercased address -> (display name, ABI) for our contracts and the deployment's tokens."""
    d = chain.deployment
    known = {}
    for token in d.tokens:
        known[token["address"].lower()] = (token.get("symbol") or "token", d.token_abi or _MINIMAL_ERC20_ABI)
    for name, address in d.addresses.items():
        known[address.lower()] = (name, d.abis[name])
    return known


def _decode_call(chain: ChainContext, data: HexBytes, name: str | None, abi: list | None) -> DecodedCall:
    selector = data[:4].to_0x_hex()
    if abi is None:
        return DecodedCall(contract=None, function=None, selector=selector, args={})
    try:
        function, args = chain.w3.eth.contract(abi=abi).decode_function_input(data)
    except Exception:  # an unknown selector or calldata that does not fit the ABI
        return DecodedCall(contract=name, function=None, selector=selector, args={})
    return DecodedCall(
        contract=name,
        function=function.fn_name,
        selector=selector,
        args={key: jsonable(value) for key, value in args.items()},
    )


def _decode_event(chain: ChainContext, known: dict, entry) -> DecodedEvent:
    address = to_checksum_address(entry["address"])
    name, args = None, {}
    decoded = chain.deployment.decode_log(entry)
    if decoded is not None:
        spec, raw = decoded
        name, args = spec.name, raw
    elif address.lower() in known:
        name, args = _decode_token_log(chain, entry)
    contract = known.get(address.lower(), (None, None))[0]
    return DecodedEvent(
        log_index=entry["logIndex"],
        address=address,
        contract=contract,
        name=name,
        args={key: jsonable(value) for key, value in args.items()},
    )


def _decode_token_log(chain: ChainContext, entry) -> tuple[str | None, dict]:
    topics = [bytes(t) for t in entry["topics"]]
    if not topics:
        return None, {}
    for item in chain.deployment.token_abi:
        if item.get("type") != "event" or item.get("anonymous") or event_abi_to_log_topic(item) != topics[0]:
            continue
        indexed = [i for i in item["inputs"] if i.get("indexed")]
        data = [i for i in item["inputs"] if not i.get("indexed")]
        try:
            args = {i["name"]: abi_decode([i["type"]], t)[0] for i, t in zip(indexed, topics[1:], strict=False)}
            if data:
                values = abi_decode([i["type"] for i in data], bytes(entry["data"]))
                args.update({i["name"]: v for i, v in zip(data, values, strict=False)})
        except Exception:  # a log whose layout differs from the ABI's (e.g. ERC-721 Transfer)
            return None, {}
        return item["name"], args
    return None, {}


# ---------------------------------------------------------------- blocks


def block_result(*, session: Session, chain: ChainContext, block_id: int | str) -> BlockResult | None:
    try:
        block = chain.w3.eth.get_block(block_id)
    except BlockNotFound:
        return None
    if block is None or block.get("hash") is None:
        return None
    block_hash = block["hash"].to_0x_hex()
    row = session.get(IndexedBlock, block["number"])
    indexed = row is not None and row.hash.lower() == block_hash.lower()
    return BlockResult(
        number=block["number"],
        hash=block_hash,
        parent_hash=block["parentHash"].to_0x_hex(),
        timestamp=block["timestamp"],
        producer=to_checksum_address(block["miner"]),
        tx_count=len(block["transactions"]),
        transactions=[HexBytes(t).to_0x_hex() for t in block["transactions"][:BLOCK_TX_LIMIT]],
        gas_used=block["gasUsed"],
        indexed=indexed,
        accepted=row.accepted if indexed else None,
        refused_reason=row.reason if indexed else None,
    )


# ---------------------------------------------------------------- numbers


def number_results(*, session: Session, chain: ChainContext, number: int, only: str | None) -> list:
    if number > MAX_ID:
        return []
    results = []
    if only in (None, "block") and number <= chain.w3.eth.block_number:
        block = block_result(session=session, chain=chain, block_id=number)
        if block is not None:
            results.append(block)
    if only in (None, "ad") and (ad := session.get(Ad, number)) is not None:
        events = _events(session, ChainEvent.ad_id == number)
        results.append(AdResult(**AdPublic.of(ad).model_dump(), events=events))
    if only in (None, "order") and (order := session.get(Order, number)) is not None:
        events = _events(session, ChainEvent.order_id == number)
        results.append(OrderResult(**OrderPublic.of(order).model_dump(), events=events))
    return results


def _events(session: Session, *where) -> list[ChainEventPublic]:
    rows = session.exec(
        select(ChainEvent)
        .where(*where)
        .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc())
        .limit(EVENTS_LIMIT)
    ).all()
    return [ChainEventPublic.model_validate(row) for row in rows]


# ---------------------------------------------------------------- addresses


def address_result(*, session: Session, chain: ChainContext, address: str) -> AddressResult:
    w3 = chain.w3
    d = chain.deployment
    known = _known_contracts(chain)
    is_contract = len(w3.eth.get_code(address)) > 0
    registry = chain.contract("NodeRegistry")
    now = w3.eth.get_block("latest")["timestamp"]

    balances = []
    for token in d.tokens:
        contract = w3.eth.contract(address=to_checksum_address(token["address"]), abi=d.token_abi or _MINIMAL_ERC20_ABI)
        balances.append(
            TokenBalance(
                token=contract.address,
                symbol=token.get("symbol"),
                decimals=token.get("decimals"),
                balance=contract.functions.balanceOf(address).call(),
            )
        )

    kyc = session.get(KycAttestation, address)
    node = session.get(NodeRecord, address)
    ads_count = session.exec(select(func.count()).select_from(Ad).where(Ad.maker == address)).one()
    orders_count = session.exec(
        select(func.count()).select_from(Order).where(or_(Order.buyer == address, Order.seller == address))
    ).one()
    return AddressResult(
        address=address,
        is_contract=is_contract,
        contract_name=known.get(address.lower(), (None, None))[0],
        balance=w3.eth.get_balance(address),
        tx_count=w3.eth.get_transaction_count(address),
        token_balances=balances,
        kyc=KycPublic.model_validate(kyc) if kyc else None,
        kyc_verified=bool(kyc and not kyc.revoked and kyc.expires_at > now),
        is_authority=registry.functions.is_authority(address).call(),
        node=NodePublic.model_validate(node) if node else None,
        authorized=registry.functions.is_authorized(address).call(),
        ads_count=ads_count,
        orders_count=orders_count,
        events=_events(session, ChainEvent.participants.contains(f" {address.lower()} ")),
    )
