// The escrow's rules and order vocabulary as the backend read them from the deployed
// contract (`/api/chain/deployment` -> `protocol`): pages take the dispute grace, the
// payment window's bounds and which statuses are final from here, never from copies.

import { ctx } from "./shell.js";

/** @typedef {import("../../types/api").Schemas} Schemas */

/** @returns {Schemas["ProtocolPublic"] | null} null while the deployment is not loaded */
export function rules() {
  return ctx.deployment?.protocol ?? null;
}

/** @param {Schemas["OrderStatus"]} status */
export function isEnded(status) {
  return Boolean(rules()?.statuses.find((s) => s.name === status)?.ended);
}

/** The reason an `OrderCancelled` event's code stands for ("unknown" for others). */
export function cancelReasonOf(code) {
  return rules()?.cancel_reasons.find((c) => c.code === Number(code))?.reason ?? "unknown";
}

/** The payment windows (seconds) of `choices` that the contract accepts. */
export function allowedWindows(choices) {
  const r = rules();
  return r ? choices.filter((s) => s >= r.min_payment_window && s <= r.max_payment_window) : choices;
}
