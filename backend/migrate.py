"""Alembic migrations, run by the app on start (and by `python -m backend.cli migrate`).

Several app processes may start at once against one PostgreSQL database: they migrate one
after the other under a session-level advisory lock, so the second finds the work done.
SQLite needs no lock: its writers queue on the file, and one process owns it in practice.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# PostgreSQL advisory lock key of the migrations ("SENTMIGR"); the indexer's writer lock has its own.
MIGRATION_LOCK_KEY = 0x53454E544D494752


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    # Each domain's migrations branch from the core one; "heads" applies them all.
    if not database_url.startswith("postgresql"):
        command.upgrade(alembic_config(database_url), "heads")
        return
    engine = create_engine(database_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            # Waits for a process migrating right now; held by this connection's session,
            # so a process that dies mid-migration releases it with its connection.
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()
            try:
                config = alembic_config(database_url)
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
                connection.commit()
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
    finally:
        engine.dispose()
