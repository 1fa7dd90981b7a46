"""HTTP and WebSocket routes of the negotiation domain."""

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["negotiation"])
