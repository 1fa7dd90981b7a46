"""Request and response shapes of feedback."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from backend.relay.schemas import TypedData

MAX_COMMENT = 280
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


def _signature(value: str) -> str:
    if not _SIGNATURE.match(value):
        raise ValueError("not a signature: expected 0x followed by 130 hex digits (65 bytes: r, s, v)")
    return value.lower()


Comment = Annotated[
    str,
    Field(
        max_length=MAX_COMMENT,
        description=f"at most {MAX_COMMENT} characters, signed exactly as sent",
        examples=["Paid fast, friendly."],
    ),
]
Signature = Annotated[str, Field(examples=["0x" + "ab" * 65]), AfterValidator(_signature)]


class FeedbackDraft(BaseModel):
    positive: bool
    comment: Comment = ""


class FeedbackCreate(FeedbackDraft):
    signature: Signature = Field(description="EIP-712 signature of the typed data /feedback/prepare returns")


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    author: str
    subject: str
    author_role: Literal["buyer", "seller"]
    positive: bool
    comment: str
    signature: str
    created_at: int


class FeedbackSummary(BaseModel):
    positive: int = 0
    negative: int = 0


class OrderFeedback(BaseModel):
    """What each side of one order said (null: not yet)."""

    order_id: int
    buyer: FeedbackPublic | None
    seller: FeedbackPublic | None


class FeedbackPage(BaseModel):
    items: list[FeedbackPublic]
    total: int
    limit: int
    offset: int
    summary: FeedbackSummary


class FeedbackPrepared(BaseModel):
    signer: str = Field(description="who must sign: the signed-in party")
    typed_data: TypedData
