"""Sending a contract call from a key the process holds (relayer, node, authority)."""

import threading

from web3 import Web3

# One lock per sending address: two sends must not take the same account nonce.
_send_locks: dict[str, threading.Lock] = {}
_send_locks_guard = threading.Lock()


def lock_for(address: str) -> threading.Lock:
    with _send_locks_guard:
        return _send_locks.setdefault(address, threading.Lock())


def fees(w3: Web3) -> dict:
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:  # a chain without EIP-1559
        return {"gasPrice": w3.eth.gas_price}
    tip = w3.eth.max_priority_fee
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def send_call(
    w3: Web3, chain_id: int, account, call, *, gas: int | None = None, fee_fields: dict | None = None
) -> bytes:
    """Signs and sends `call` from `account`; the caller holds lock_for(account.address)
    when sends from it may run concurrently. Returns the transaction hash."""
    if gas is None:
        # A margin over the estimate: warm/cold slots and refunds can shift before inclusion.
        gas = call.estimate_gas({"from": account.address}, block_identifier="pending") * 12 // 10
    tx = call.build_transaction(
        {
            "from": account.address,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "chainId": chain_id,
            "gas": gas,
            **(fee_fields or fees(w3)),
        }
    )
    return w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
