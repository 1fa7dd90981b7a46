"""The one domain error: a refusal with an HTTP status and a sentence for the user.

Services raise it; one handler in main.py turns it into `{"detail": ...}` with its
status, and WebSocket routes close with 4000 + status. Routes hold no try/except for it.
"""


class DomainError(Exception):
    def __init__(self, status_code: int, detail: str, *, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers

    @property
    def close_code(self) -> int:
        """The WebSocket close code that carries this refusal."""
        return 4000 + self.status_code
