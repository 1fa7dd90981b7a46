"""The ledger's rules on their own, without the chain: refusals, pending transfers and
their timeout, a model-based (hypothesis) run, several OS processes at once on SQLite and
PostgreSQL, and processes killed mid-operation. `ledger-check` proves the books after."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

import backend.models  # noqa: F401  every table, for create_all
from backend.cli import cli
from backend.db import make_engine
from backend.errors import DomainError
from backend.ledger import service
from backend.ledger.models import PENDING, POST_PENDING, VOID_PENDING, LedgerAccount, LedgerTransfer
from backend.migrate import migrate
from tests.postgres import *  # noqa: F403  postgres_server, postgres_url

ROOT = Path(__file__).resolve().parents[2]
USERS = 4
FUNDS = 10_000


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def funded(url: str, users: int = USERS, funds: int = FUNDS) -> tuple:
    """A migrated database with the bank and `users` accounts of `funds` each."""
    migrate(url)
    engine = make_engine(url)

    def setup(session):
        bank = service.account_for(session, owner=service.BANK, currency="USD")
        ids = []
        for n in range(users):
            account = service.account_for(session, owner=f"0x{n:040x}", currency="USD")
            service.apply_transfer(
                session,
                service.Transfer(
                    id=f"fund:{n}", code="topup", debit_account_id=bank.id, credit_account_id=account.id, amount=funds
                ),
            )
            ids.append(account.id)
        return bank.id, ids

    bank, ids = service.run(engine, setup)
    return engine, bank, ids


def ledger_check(url: str):
    return CliRunner().invoke(cli, ["ledger-check"], env={"SENTINEL_DATABASE_URL": url})


def balances(engine) -> dict[int, LedgerAccount]:
    with Session(engine) as session:
        return {a.id: a for a in session.exec(select(LedgerAccount)).all()}


# ----------------------------------------------------------------- rules


def test_refusals__each_clear_and_nothing_written(sqlite_url):
    engine, bank, (a, b, *_) = funded(sqlite_url)

    def refused(status, words, **fields):
        fields.setdefault("debit_account_id", a)
        fields.setdefault("credit_account_id", b)
        with pytest.raises(DomainError) as error:
            service.transfer(engine, service.Transfer(id=fields.pop("id", "x1"), code="t", **fields))
        assert error.value.status_code == status and words in error.value.detail, error.value.detail

    refused(422, "positive", amount=0)
    refused(422, "positive", amount=-1)
    refused(422, "too large", amount=10**39)
    refused(422, "whole number", amount=1.5)
    refused(404, "does not exist", amount=1, credit_account_id=9_999)
    refused(422, "must differ", amount=1, credit_account_id=a)
    refused(409, "insufficient funds", amount=FUNDS + 1)
    refused(422, "timeout", amount=1, flags=PENDING)
    refused(422, "pending_id is required", flags=POST_PENDING)
    refused(404, "does not exist", flags=POST_PENDING, pending_id="nope")
    refused(409, "not a pending transfer", flags=VOID_PENDING, pending_id="fund:0")
    with Session(engine) as session:
        eur = service.account_for(session, owner="0xeur", currency="EUR")
        session.commit()
        eur_id = eur.id
    refused(409, "currency mismatch", amount=1, credit_account_id=eur_id)
    assert ledger_check(sqlite_url).exit_code == 0
    with Session(engine) as session:
        assert len(session.exec(select(LedgerTransfer)).all()) == USERS


def test_pending__post_partial_then_never_again(sqlite_url):
    engine, bank, (a, b, *_) = funded(sqlite_url)
    service.transfer(
        engine,
        service.Transfer(
            id="p", code="t", debit_account_id=a, credit_account_id=b, amount=500, flags=PENDING, timeout=60
        ),
    )
    assert service.available(balances(engine)[a]) == FUNDS - 500
    with pytest.raises(DomainError, match="more than the pending amount"):
        service.transfer(engine, service.Transfer(id="post", code="t", flags=POST_PENDING, pending_id="p", amount=501))
    service.transfer(engine, service.Transfer(id="post", code="t", flags=POST_PENDING, pending_id="p", amount=200))
    accounts = balances(engine)
    assert service.available(accounts[a]) == FUNDS - 200 and accounts[b].credits_posted == FUNDS + 200
    assert accounts[a].debits_pending == 0 and accounts[b].credits_pending == 0
    for again in ("void", "post2"):
        flags = VOID_PENDING if again == "void" else POST_PENDING
        with pytest.raises(DomainError, match="already posted") as error:
            service.transfer(engine, service.Transfer(id=again, code="t", flags=flags, pending_id="p"))
        assert error.value.status_code == 409
    # The same post again is the same transfer, not a second one.
    transfer, created = service.transfer(
        engine, service.Transfer(id="post", code="t", flags=POST_PENDING, pending_id="p", amount=200)
    )
    assert not created and transfer.amount == 200


def test_pending__expires_at_its_timeout(sqlite_url):
    engine, bank, (a, b, *_) = funded(sqlite_url)
    now = 1_000_000
    pending = service.Transfer(
        id="p", code="t", debit_account_id=a, credit_account_id=b, amount=700, flags=PENDING, timeout=30
    )
    service.transfer(engine, pending, now=now)
    assert service.expire_due(engine, now=now + 29) == 0
    with pytest.raises(DomainError, match="expired") as error:
        service.transfer(
            engine, service.Transfer(id="late", code="t", flags=POST_PENDING, pending_id="p"), now=now + 30
        )
    assert error.value.status_code == 409
    # The refusal still wrote the expiry: the hold is released, once.
    assert service.available(balances(engine)[a]) == FUNDS
    with Session(engine) as session:
        assert service.status_of(session, service.get_transfer(session, "p")) == "expired"
    assert service.expire_due(engine, now=now + 1_000) == 0

    service.transfer(engine, pending.__class__(**{**vars(pending), "id": "p2"}), now=now)
    assert service.expire_due(engine, now=now + 30) == 1
    assert service.available(balances(engine)[a]) == FUNDS
    assert ledger_check(sqlite_url).exit_code == 0


def test_ledger_check__fails_on_broken_books(sqlite_url):
    engine, bank, (a, *_) = funded(sqlite_url)
    result = ledger_check(sqlite_url)
    assert result.exit_code == 0 and "USD: debits 40000 = credits 40000 posted" in result.output
    with Session(engine) as session:
        session.execute(text("UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = :a"), {"a": a})
        session.commit()
    result = ledger_check(sqlite_url)
    assert result.exit_code == 1 and "UNBALANCED" in result.output and "FAILED" in result.output


# ---------------------------------------------------------- model-based


class LedgerMachine(RuleBasedStateMachine):
    """Random top-ups, transfers, pending transfers, posts, voids and replays against a
    plain model of the balances: after every step the books balance and match the model."""

    pendings = Bundle("pendings")

    @initialize()
    def setup(self):
        import tempfile

        self.dir = tempfile.mkdtemp(prefix="ledger-hyp-")
        url = f"sqlite:///{self.dir}/h.db"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        self.engine = engine

        def accounts(session):
            bank = service.account_for(session, owner=service.BANK, currency="USD")
            users = [service.account_for(session, owner=f"0x{n}", currency="USD") for n in range(3)]
            return bank.id, [u.id for u in users]

        self.bank, self.users = service.run(engine, accounts)
        self.posted = {i: 0 for i in [self.bank, *self.users]}  # credits - debits
        self.held = {i: 0 for i in self.users}
        self.sent: list[tuple[service.Transfer, int]] = []  # request, posted-total after it
        self.resolved: dict[str, str] = {}
        self.counter = 0

    def teardown(self):
        import shutil

        self.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _id(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def _send(self, request):
        try:
            transfer, created = service.transfer(self.engine, request, now=0)
        except DomainError:
            return None
        assert created
        self.sent.append(request)
        return transfer

    @rule(user=st.integers(0, 2), amount=st.integers(1, 5_000))
    def topup(self, user, amount):
        account = self.users[user]
        if self._send(
            service.Transfer(
                id=self._id(), code="t", debit_account_id=self.bank, credit_account_id=account, amount=amount
            )
        ):
            self.posted[self.bank] -= amount
            self.posted[account] += amount

    @rule(src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 3_000))
    def transfer(self, src, dst, amount):
        debit, credit = self.users[src], self.users[dst]
        can = self.posted[debit] - self.held[debit] >= amount and src != dst
        done = self._send(
            service.Transfer(id=self._id(), code="t", debit_account_id=debit, credit_account_id=credit, amount=amount)
        )
        assert bool(done) == can
        if done:
            self.posted[debit] -= amount
            self.posted[credit] += amount

    @rule(target=pendings, src=st.integers(0, 2), dst=st.integers(0, 2), amount=st.integers(1, 3_000))
    def hold(self, src, dst, amount):
        debit, credit = self.users[src], self.users[dst]
        can = self.posted[debit] - self.held[debit] >= amount and src != dst
        request = service.Transfer(
            id=self._id(),
            code="t",
            debit_account_id=debit,
            credit_account_id=credit,
            amount=amount,
            flags=PENDING,
            timeout=10**6,
        )
        done = self._send(request)
        assert bool(done) == can
        if not done:
            return None
        self.held[debit] += amount
        return (request.id, debit, credit, amount)

    @rule(pending=consumes(pendings), part=st.one_of(st.none(), st.integers(1, 3_000)), void=st.booleans())
    def resolve(self, pending, part, void):
        if pending is None:
            return
        pending_id, debit, credit, amount = pending
        flags = VOID_PENDING if void else POST_PENDING
        request = service.Transfer(
            id=self._id(), code="t", flags=flags, pending_id=pending_id, amount=None if void else part
        )
        done = self._send(request)
        if not void and part is not None and part > amount:
            assert done is None
            return
        assert done is not None
        self.held[debit] -= amount
        self.resolved[pending_id] = "voided" if void else "posted"
        if not void:
            posted = amount if part is None else part
            self.posted[debit] -= posted
            self.posted[credit] += posted

    @rule(data=st.data())
    def resolve_again(self, data):
        """A pending transfer already resolved: any further post or void is refused."""
        if not self.resolved:
            return
        pending_id = data.draw(st.sampled_from(sorted(self.resolved)))
        flags = data.draw(st.sampled_from([POST_PENDING, VOID_PENDING]))
        with pytest.raises(DomainError, match=f"already {self.resolved[pending_id]}"):
            service.transfer(
                self.engine, service.Transfer(id=self._id(), code="t", flags=flags, pending_id=pending_id), now=0
            )

    @rule(data=st.data())
    def replay(self, data):
        """Any request sent before, sent again: the same transfer, no money moves."""
        if not self.sent:
            return
        request = data.draw(st.sampled_from(self.sent))
        transfer, created = service.transfer(self.engine, request, now=0)
        assert not created and transfer.id == request.id

    @invariant()
    def books_balance_and_match_the_model(self):
        if not hasattr(self, "engine"):
            return
        with Session(self.engine) as session:
            report = service.check(session)
            assert report.ok, report
            for account in session.exec(select(LedgerAccount)).all():
                assert account.credits_posted - account.debits_posted == self.posted[account.id]
                if account.id in self.held:
                    assert account.debits_pending == self.held[account.id]
                    assert service.available(account) >= 0
            resolutions = session.exec(
                select(LedgerTransfer.pending_id).where(LedgerTransfer.pending_id.is_not(None))
            ).all()
            assert len(resolutions) == len(set(resolutions)) == len(self.resolved)


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    max_examples=int(os.environ.get("LEDGER_EXAMPLES", "25")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# ---------------------------------------------------------- processes


def _worker(url: str, seed: int, ops: int, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ledger_worker", url, str(seed), str(ops), str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _assert_books(engine, url: str, bank: int):
    accounts = balances(engine)
    users = [a for a in accounts.values() if a.id != bank]
    # No negative balance, and nothing lost: the users together hold exactly what the bank paid in.
    assert all(service.available(a) >= 0 for a in users)
    assert sum(a.credits_posted - a.debits_posted for a in users) == USERS * FUNDS
    assert sum(a.debits_pending for a in users) == sum(a.credits_pending for a in users)
    result = ledger_check(url)
    assert result.exit_code == 0, result.output


def test_processes__pay_post_void_at_once(database_url, tmp_path):
    engine, bank, _ = funded(database_url)
    logs = [tmp_path / f"w{n}.jsonl" for n in range(4)]
    workers = [_worker(database_url, seed, 120, log) for seed, log in enumerate(logs)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()[-2000:]
    lines = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    assert len(lines) == 4 * 120
    assert all(line["ok"] or 400 <= line["status"] < 500 for line in lines)
    created = {line["id"] for line in lines if line["ok"] and line["created"]}
    with Session(engine) as session:
        stored = session.exec(select(LedgerTransfer.id).where(LedgerTransfer.code == "test")).all()
    # Every transfer a process was told it made is there, once; nothing else is.
    assert sorted(stored) == sorted(created)
    # Replays and raced resolutions were answered, never written twice.
    assert any(line["ok"] and not line["created"] for line in lines)
    _assert_books(engine, database_url, bank)


def test_processes__killed_mid_operation_leave_no_half_transfer(database_url, tmp_path):
    engine, bank, _ = funded(database_url)
    for round_ in range(4):
        logs = [tmp_path / f"k{round_}-{n}.jsonl" for n in range(2)]
        workers = [_worker(database_url, 100 * round_ + n, 0, log) for n, log in enumerate(logs)]
        # Once both are mid-stream (most of their time is inside a transaction), kill them.
        deadline = time.monotonic() + 120
        while not all(log.exists() and log.read_text().count("\n") >= 5 for log in logs):
            assert time.monotonic() < deadline and all(w.poll() is None for w in workers), "workers did not start"
            time.sleep(0.05)
        time.sleep(0.05 + 0.1 * round_)
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
    with Session(engine) as session:
        assert len(session.exec(select(LedgerTransfer.id).where(LedgerTransfer.code == "test")).all()) > 0
    _assert_books(engine, database_url, bank)


def test_batch__each_item_its_result_and_the_books_balance(database_url):
    engine, bank, (a, b, *_) = funded(database_url)

    def t(id_, amount, debit=a, credit=b, **extra):
        return service.Transfer(
            id=id_, code="t", debit_account_id=debit, credit_account_id=credit, amount=amount, **extra
        )

    batch = [
        t("b1", 6_000),
        t("b2", 5_000),  # 4,000 left: refused
        t("b1", 6_000),  # a twin in the same batch: the same transfer
        t("b3", 4_000, flags=PENDING, timeout=60),
        t("b4", 1, credit=9_999),
        service.Transfer(
            id="fund:0", code="topup", debit_account_id=bank, credit_account_id=a, amount=FUNDS
        ),  # sent before
        t("b5", 0),
    ]
    results = service.run(engine, lambda session: service.create_transfers(session, batch))
    assert [(r.result if r.status == 200 else r.status) for r in results] == [
        "created",
        409,
        "exists",
        "created",
        404,
        "exists",
        422,
    ]
    accounts = balances(engine)
    assert service.available(accounts[a]) == 0 and accounts[a].debits_pending == 4_000
    assert accounts[b].credits_posted == FUNDS + 6_000 and accounts[b].credits_pending == 4_000
    assert ledger_check(database_url).exit_code == 0
