"""App-wide dependencies: what routes read from the application, as `Annotated` aliases."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.config import Settings


async def get_app_settings(connection: HTTPConnection) -> Settings:
    return connection.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
