"""HTTP and WebSocket routes of the relay domain."""

from fastapi import APIRouter

router = APIRouter(prefix="/relay", tags=["relay"])
