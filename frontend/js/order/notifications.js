// The page's pushes: the order (or its chat) is read again when a push is about it.

import { onPush } from "../pushes.js";
import { chatLive, pollChat } from "./chat.js";
import { orderId, refresh } from "./state.js";

export function connectNotifications() {
  onPush((push) => {
    if (Number(push.order_id) !== orderId) return;
    if (push.type === "chain_event") refresh();
    else if (push.type === "chat" && !chatLive()) pollChat();
  });
}
