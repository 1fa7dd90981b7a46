// The gasless route: the backend prepares the EIP-712 message of an action, the wallet
// signs it, and an admitted node sends it (the user pays no gas). Which node relayed
// shows where the action is shown: the transaction's label (actions.js, `perform`) and
// the timeline's ActionRelayed entry (summary.js, `eventDetail`).

import { api } from "../api.js";
import { shortAddress } from "../format.js";
import { t } from "../i18n.js";
import { ctx } from "../shell.js";
import { getProvider, getSigner } from "../wallet.js";
import { byId, orderId } from "./state.js";

const GASLESS_KEY = "sentinel.gasless";
/** The actions the escrow accepts relayed. */
export const RELAYABLE = new Set(["mark_paid", "release", "cancel"]);

export function initGasless() {
  const box = byId("gasless");
  box.checked = localStorage.getItem(GASLESS_KEY) === "1";
  box.addEventListener("change", () => localStorage.setItem(GASLESS_KEY, box.checked ? "1" : "0"));
}

/** Offer the toggle only where a relay can act for this account. */
export function showGasless(offered) {
  byId("gasless-label").classList.toggle("hidden", !offered);
}

export function gasless() {
  return byId("gasless").checked && !byId("gasless-label").classList.contains("hidden");
}

/**
 * Send `action` through the relay; resolves like a wallet's transaction ({hash, wait}).
 * @param {"mark_paid" | "release" | "cancel"} action
 * @param {{payment_ref?: string}} extra
 */
export async function relay(action, extra) {
  const signer = await getSigner(ctx.deployment);
  const prepared = await api("/relay/prepare", { method: "POST", body: { action, order_id: orderId, ...extra } });
  const { domain, message } = prepared.typed_data;
  // ethers derives the EIP712Domain type from the domain itself and refuses it in `types`.
  const types = { ...prepared.typed_data.types };
  delete types.EIP712Domain;
  const signature = await signer.signTypedData(domain, types, message);
  const submitted = await api("/relay/submit", {
    method: "POST",
    body: { action, order_id: orderId, ...extra, nonce: prepared.nonce, deadline: prepared.deadline, signature },
  });
  const provider = getProvider();
  const via = t("nodes.relayed_by", { node: shortAddress(submitted.node) }); // the node that sent it
  return { hash: submitted.tx_hash, via, wait: () => provider.waitForTransaction(submitted.tx_hash, 1, 60000) };
}
