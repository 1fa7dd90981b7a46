"""The notification hub as routes see it."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.notifications.hub import NotificationHub


async def get_hub(connection: HTTPConnection) -> NotificationHub:
    return connection.app.state.hub


HubDep = Annotated[NotificationHub, Depends(get_hub)]
