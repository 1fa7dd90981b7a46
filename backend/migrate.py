"""Alembic migrations, run by the app on start (and by `python -m backend.cli migrate`)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str) -> None:
    # Each domain's migrations branch from the core one; "heads" applies them all.
    command.upgrade(alembic_config(database_url), "heads")
