"""HTTP and WebSocket routes of the auth domain."""

from fastapi import APIRouter

router = APIRouter(prefix="/auth", tags=["auth"])
