"""Chat pushes, fed by this process's follower (backend/push.py) whichever process stored
the message: the message to the order's open chat sockets, a notice to the other
parties' notification pages."""

from sqlmodel import Session, select

from backend.market.models import Order
from backend.negotiation import service
from backend.negotiation.models import ChatMessage
from backend.negotiation.rooms import ChatRooms
from backend.negotiation.schemas import ChatMessageFrame, ChatMessagePublic
from backend.notifications.hub import NotificationHub
from backend.push import Feed


def chat_feed(rooms: ChatRooms, hub: NotificationHub) -> Feed:
    def publish(session: Session, messages: list[ChatMessage]) -> None:
        order_ids = {message.order_id for message in messages}
        orders = {order.id: order for order in session.exec(select(Order).where(Order.id.in_(order_ids)))}
        for message in messages:
            public = ChatMessagePublic.of(message)
            rooms.publish(message.order_id, ChatMessageFrame(message=public).model_dump(mode="json"))
            order = orders.get(message.order_id)
            if order is None:  # a reorg took the order away; its sockets got the message above
                continue
            for address in service.recipients(buyer=order.buyer, seller=order.seller, sender=message.sender):
                hub.publish(address, {"type": "chat", "order_id": message.order_id, "seq": message.seq})

    return Feed("chat_message", ChatMessage, publish)
