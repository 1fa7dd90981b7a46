"""Operator commands: `python -m backend.cli --help`.

The database (and, for `index`, the chain and the manifest) come from the same
SENTINEL_* settings as the app. No command prompts: passwords come from an option or stdin.
"""

import logging
from pathlib import Path
from time import sleep

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session

from backend.auth import service
from backend.auth.models import ROLES, User
from backend.config import Settings
from backend.db import make_engine
from backend.errors import DomainError
from backend.migrate import migrate as run_migrations
from backend.validation import parse_address


def _settings() -> Settings:
    # Not the cached get_settings(): each invocation reads the environment afresh.
    return Settings()


def _migrated_engine(settings: Settings) -> Engine:
    if settings.database_url.startswith("sqlite:///"):
        Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    run_migrations(settings.database_url)
    return make_engine(settings.database_url)


def _address_option(_ctx, _param, value: str | None) -> str | None:
    if value is None:
        return None
    address = parse_address(value)
    if address is None:
        raise click.BadParameter("not an address: expected 0x followed by 40 hex digits")
    return address


def _describe(user: User) -> str:
    who = ", ".join(x for x in (user.username, user.address) if x)
    return f"user {user.id} ({who}) roles: {','.join(service.role_list(user)) or '-'}"


def _run(action):
    """Run `action(session)` on a migrated database; DomainErrors become a clean exit 1."""
    engine = _migrated_engine(_settings())
    try:
        with Session(engine) as session:
            return action(session)
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    finally:
        engine.dispose()


@click.group()
def cli() -> None:
    """Sentinel OTC operator commands."""


@cli.command()
def migrate() -> None:
    """Apply the database migrations (the app also does this on start)."""
    settings = _settings()
    _migrated_engine(settings).dispose()
    click.echo(f"database is up to date: {settings.database_url}")


@cli.command("create-admin")
@click.option("--username", required=True, help="Login name of the staff user.")
@click.option("--password", "password", default=None, help="The password (visible in the process list: prefer stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--address", default=None, callback=_address_option, help="Optional wallet address of the admin.")
def create_admin(username: str, password: str | None, password_stdin: bool, address: str | None) -> None:
    """Create a staff user with the admin role, or give an existing one admin and this password."""
    if (password is None) == (not password_stdin):
        raise click.UsageError("give exactly one of --password-stdin or --password")
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    if len(password) < service.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"password too short: at least {service.MIN_PASSWORD_LENGTH} characters")
    user, created = _run(
        lambda session: service.create_admin(session, username=username, password=password, address=address)
    )
    click.echo(f"{'created' if created else 'updated'} {_describe(user)}")


@cli.command("grant-role")
@click.argument("ident")
@click.argument("role", type=click.Choice(ROLES))
def grant_role(ident: str, role: str) -> None:
    """Give ROLE to IDENT (a wallet address, which may be new, or a username)."""
    user = _run(lambda session: service.grant_role(session, ident=ident, role=role))
    click.echo(f"granted {role}: {_describe(user)}")


@cli.command("revoke-role")
@click.argument("ident")
@click.argument("role", type=click.Choice(ROLES))
def revoke_role(ident: str, role: str) -> None:
    """Take ROLE from IDENT (a wallet address or a username)."""
    user = _run(lambda session: service.revoke_role(session, ident=ident, role=role))
    click.echo(f"revoked {role}: {_describe(user)}")


@cli.command("kyc-retention")
@click.option("--days", type=click.IntRange(min=0), default=None, help="Retention in days (default: settings).")
def kyc_retention(days: int | None) -> None:
    """Erase the personal data of rejected and withdrawn KYC applications past retention.

    Run it daily (cron or a systemd timer); the audit log records each erasure."""
    from backend.kyc import service as kyc_service

    days = _settings().kyc_retention_days if days is None else days
    erased = _run(lambda session: kyc_service.erase_expired(session, retention_days=days))
    click.echo(f"erased {len(erased)} KYC application(s) older than {days} days" + (f": {erased}" if erased else ""))


@cli.command()
@click.option("--poll", type=float, default=None, help="Seconds between polls when caught up (default: settings).")
def index(poll: float | None) -> None:
    """Run the chain indexer alone, in the foreground, until Ctrl-C.

    Set SENTINEL_INDEXER_ENABLED=false for the app so the two do not index side by side.
    """
    from web3 import Web3

    from backend.chain.contracts import Deployment, ManifestError
    from backend.chain.indexer import Indexer
    from backend.projections import all_projections
    from backend.push import announce

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = _settings()
    poll = settings.indexer_poll_seconds if poll is None else poll
    try:
        deployment = Deployment.load(settings.manifest_path)
    except ManifestError as error:
        raise click.ClickException(str(error)) from None
    engine = _migrated_engine(settings)
    w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 30}))
    indexer = Indexer(
        engine=engine,
        w3=w3,
        deployment=deployment,
        projections=all_projections(),
        confirmations=settings.confirmations,
        window=settings.indexer_window_blocks,
        # The app processes' push followers poll anyway; on PostgreSQL this wakes them at once.
        on_commit=lambda _events: announce(engine),
    )
    click.echo(f"indexing chain {deployment.chain_id} from {settings.rpc_url} into {settings.database_url}")
    delay = poll
    try:
        while True:
            result = indexer.run_once()  # a failure is logged and recorded, never the end
            if result is None:
                delay = indexer.next_delay(delay, poll)
                sleep(delay)
                continue
            delay = poll
            if result.blocks or result.reorged_from is not None:
                click.echo(
                    f"checkpoint {indexer.checkpoint()}: +{result.blocks} blocks, +{result.events} events"
                    + (f", {result.refused} refused" if result.refused else "")
                    + (f", reorg from {result.reorged_from}" if result.reorged_from is not None else "")
                )
                continue  # catching up: no sleep
            sleep(poll)
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        engine.dispose()


@cli.command("ledger-check")
def ledger_check() -> None:
    """Prove the ledger's books on the live database: per currency the debits equal the
    credits (posted and pending), every account equals the sum of its transfers, no user
    account is overdrawn. Exits 1 if any of it fails."""
    from backend.ledger import service as ledger

    report = _run(ledger.check)
    for c in report.currencies:
        mark = "ok" if c.balanced else "UNBALANCED"
        click.echo(
            f"{c.currency}: debits {c.debits_posted} = credits {c.credits_posted} posted, "
            f"{c.debits_pending} = {c.credits_pending} pending: {mark}"
        )
    if report.mismatched_accounts:
        click.echo(f"accounts whose totals differ from their transfers: {report.mismatched_accounts}")
    if report.overdrawn_accounts:
        click.echo(f"overdrawn accounts: {report.overdrawn_accounts}")
    click.echo(f"{report.transfers} transfers, {len(report.currencies)} currencies: {'OK' if report.ok else 'FAILED'}")
    if not report.ok:
        raise SystemExit(1)


@cli.command("ledger-expire")
def ledger_expire() -> None:
    """Void every pending transfer past its timeout now (the app also does this by itself)."""
    from backend.ledger import service as ledger

    engine = _migrated_engine(_settings())
    try:
        click.echo(f"voided {ledger.expire_due(engine)} expired pending transfer(s)")
    finally:
        engine.dispose()


if __name__ == "__main__":
    cli()
