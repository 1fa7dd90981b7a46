"""HTTP and WebSocket routes of the explorer domain."""

from fastapi import APIRouter

router = APIRouter(prefix="/explorer", tags=["explorer"])
