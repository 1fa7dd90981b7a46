"""The monitoring center as routes see it, and who may use it."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from backend.auth.deps import require_roles
from backend.auth.models import User
from backend.monitoring.center import MonitoringCenter


async def get_center(connection: HTTPConnection) -> MonitoringCenter:
    return connection.app.state.monitoring


CenterDep = Annotated[MonitoringCenter, Depends(get_center)]
MonitorUser = Annotated[User, Depends(require_roles("monitor"))]
