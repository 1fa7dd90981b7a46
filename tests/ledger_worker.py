"""A ledger client in its own OS process, for the concurrency and kill tests.

`python -m tests.ledger_worker URL SEED OPS OUT` runs OPS random operations against the
accounts 1..N of the database at URL (topped up by the test) and writes one JSON line per
operation to OUT: the request and what the ledger answered. OPS=0 runs until killed.
"""

import json
import random
import sys
import uuid

from sqlmodel import Session, select

from backend.db import make_engine
from backend.errors import DomainError
from backend.ledger import service
from backend.ledger.models import PENDING, POST_PENDING, VOID_PENDING, LedgerAccount


def main(url: str, seed: int, ops: int, out: str) -> None:
    rng = random.Random(seed)
    engine = make_engine(url)
    with Session(engine) as session:
        users = [a.id for a in session.exec(select(LedgerAccount).where(LedgerAccount.flags == 1)).all()]
    sent: list[service.Transfer] = []
    with open(out, "a", buffering=1) as log:
        n = 0
        while ops == 0 or n < ops:
            n += 1
            request = _next(rng, users, sent, engine)
            try:
                transfer, created = service.transfer(engine, request)
                outcome = {"ok": True, "created": created, "seq": transfer.seq}
            except DomainError as refusal:
                outcome = {"ok": False, "status": refusal.status_code, "detail": refusal.detail}
            sent.append(request)
            log.write(
                json.dumps({"id": request.id, "flags": request.flags, "amount": request.amount, **outcome}) + "\n"
            )


def _next(rng: random.Random, users: list[int], sent: list, engine) -> service.Transfer:
    roll = rng.random()
    if sent and roll < 0.15:
        return rng.choice(sent)  # a replay: must never move money twice
    if roll < 0.45:
        with Session(engine) as session:
            pendings = [p.id for p in service.due_for_expiry(session, 2**31 - 1, limit=20)]
        if pendings:
            flags = rng.choice([POST_PENDING, VOID_PENDING])
            amount = None if flags == VOID_PENDING or rng.random() < 0.5 else rng.randint(1, 50)
            # Ids derived from the pending one: other processes resolving it race on the same id.
            pending_id = rng.choice(pendings)
            return service.Transfer(
                id=f"{flags}:{amount}:{pending_id}", code="test", flags=flags, pending_id=pending_id, amount=amount
            )
    debit, credit = rng.sample(users, 2)
    flags = PENDING if roll < 0.7 else 0
    return service.Transfer(
        id=uuid.uuid4().hex,
        code="test",
        debit_account_id=debit,
        credit_account_id=credit,
        amount=rng.randint(1, 400),
        flags=flags,
        timeout=3600 if flags else None,
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
