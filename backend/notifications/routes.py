"""HTTP and WebSocket routes of the notifications domain."""

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["notifications"])
