"""Public shapes of the negotiation channel."""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from backend.negotiation.models import ChatMessage

MAX_BODY_CHARS = 2000


def _body(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("chat_body", "message is empty")
    if len(value) > MAX_BODY_CHARS:
        raise PydanticCustomError("chat_body", f"message is longer than {MAX_BODY_CHARS} characters")
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be hashed as UTF-8.
    if "\x00" in value:
        raise PydanticCustomError("chat_body", "message contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("chat_body", "message is not valid UTF-8 text") from None
    return value


Body = Annotated[str, Field(examples=["I sent the transfer, ref 4711"]), AfterValidator(_body)]


class ChatMessageCreate(BaseModel):
    body: Body


class ChatMessagePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    order_id: int
    seq: int
    sender: str
    body: str
    created_at: int = Field(description="unix seconds")
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, message: ChatMessage) -> "ChatMessagePublic":
        return cls.model_validate(message)


class ChatHead(BaseModel):
    order_id: int
    head: str = Field(description="hash of the last message, or the order's genesis when there is none")
    count: int


class ChatTranscript(ChatHead):
    messages: list[ChatMessagePublic]


class ChatVerification(BaseModel):
    order_id: int
    valid: bool
    count: int
    head: str
    first_invalid_seq: int | None


class ChatHistoryFrame(ChatTranscript):
    type: Literal["history"] = "history"


class ChatMessageFrame(BaseModel):
    type: Literal["message"] = "message"
    message: ChatMessagePublic
