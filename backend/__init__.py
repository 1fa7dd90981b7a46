"""Sentinel OTC backend: FastAPI + SQLModel, one package per domain."""
