// The order page's data: the order and its ad from the API, the chain's clock while the
// seller's dispute grace runs, and what follows from them (who is looking, time left).
// Views subscribe with `onChange` and read `state`; nothing here touches the page.

import { api, ApiError } from "../api.js";
import { sameAddress } from "../format.js";
import { t } from "../i18n.js";
import { rules } from "../protocol.js";
import { escrowContract } from "../chain.js";
import { ctx } from "../shell.js";
import { getProvider, wallet } from "../wallet.js";

/** @typedef {import("../../../types/api").Schemas} Schemas */

const INDEX_GRACE_MS = 20000; // a fresh order may not be indexed yet when the page opens

export const orderId = Number(new URLSearchParams(location.search).get("id"));
const startedAt = Date.now();

/** The page's elements by id (tsc checks API fields here, not DOM element kinds). */
export const byId = /** @type {(id: string) => any} */ ((id) => document.getElementById(id));

export const state = {
  /** @type {Schemas["OrderDetail"] | null} */
  order: null,
  /** @type {Schemas["AdWithStats"] | null} */
  ad: null,
  fetchedAt: 0,
  error: null,
  /** @type {string | null} i18n key of why there is no order to show (none by that id, or no id): final */
  missing: null,
  busy: false,
  /** @type {string | null} the open action panel, e.g. "extend" | "dispute" */
  panel: null,
  lastStatus: null,
  /** @type {number | null} the order's fee rate (bps) as the escrow fixed it at opening */
  feeBps: null,
  chainClock: null, // {timestamp, readAt}: the latest block's time, for the seller's dispute grace
};

const listeners = [];

/** `handler()` after every refresh, whether it brought news or an error. */
export function onChange(handler) {
  listeners.push(handler);
}

export async function refresh() {
  if (state.missing) return; // a 404 is final: nothing to poll for
  if (!Number.isInteger(orderId) || orderId < 1) {
    state.missing = "order.bad_id";
    state.error = new Error(t(state.missing));
  } else {
    try {
      const order = await api("/orders/{order_id}", { params: { order_id: orderId }, auth: false });
      state.order = order;
      state.fetchedAt = Date.now();
      state.error = null;
      if (!state.ad || state.ad.id !== order.ad_id) {
        state.ad = await api("/ads/{ad_id}", { params: { ad_id: order.ad_id }, auth: false }).catch(() => null);
      }
      if (state.feeBps === null) await readOrderFee(order);
      // The seller's dispute waits out a grace by the chain's clock: read it while it matters.
      if (role() === "seller" && order.status === "PAID") await readChainClock();
    } catch (err) {
      // 503: the escrow has the order, the index has not reached it yet (keep "loading" a while);
      // 404: no such order on the chain, which no wait changes.
      const indexing = err instanceof ApiError && err.status === 503 && Date.now() - startedAt < INDEX_GRACE_MS;
      state.missing = err instanceof ApiError && err.status === 404 ? "order.not_found" : null;
      state.error = indexing ? null : state.missing ? new Error(t(state.missing, { id: orderId })) : err;
    }
  }
  for (const handler of listeners) handler();
}

/**
 * The desk's fee on `order` and what the buyer receives: as released, else at the fee rate
 * the escrow fixed when the order opened (read from the chain once; the current rate until then).
 * @param {Schemas["OrderPublic"]} order
 */
export function feeOf(order) {
  const amount = BigInt(order.amount);
  if (order.fee !== null && order.fee !== undefined) {
    return { fee: BigInt(order.fee), net: amount - BigInt(order.fee), bps: state.feeBps ?? rules()?.fee_bps ?? 0 };
  }
  const bps = state.feeBps ?? rules()?.fee_bps ?? 0;
  const fee = (amount * BigInt(bps)) / 10_000n;
  return { fee, net: amount - fee, bps };
}

async function readOrderFee(order) {
  try {
    const provider = getProvider();
    if (!provider || state.feeBps !== null) return;
    const onChain = await (await escrowContract(ctx.deployment, provider)).orders(order.id);
    state.feeBps = Number(onChain.fee_bps);
  } catch {
    // no answer: the current rate stands in (the contract decides in any case)
  }
}

/** @returns {"buyer" | "seller" | "visitor"} */
export function role() {
  const order = state.order;
  if (!order || !wallet.address) return "visitor";
  if (sameAddress(order.buyer, wallet.address)) return "buyer";
  if (sameAddress(order.seller, wallet.address)) return "seller";
  return "visitor";
}

/** Seconds left to pay by the chain's clock, counted down locally between fetches. */
export function remaining() {
  const order = state.order;
  if (!order || order.status !== "OPEN" || order.seconds_to_deadline === null) return null;
  return order.seconds_to_deadline - (Date.now() - state.fetchedAt) / 1000;
}

export function expired() {
  const left = remaining();
  return left !== null && left <= 0;
}

async function readChainClock() {
  try {
    const block = await getProvider()?.getBlock("latest");
    if (block) state.chainClock = { timestamp: block.timestamp, readAt: Date.now() };
  } catch {
    // no answer: keep the last reading (the contract decides in any case)
  }
}

/**
 * When the seller may open a dispute (paid_at + the contract's grace), while that is still
 * ahead by the chain's clock; null once it has come (or for anyone else), so the page never
 * offers the seller a dispute button that could only fail.
 */
export function sellerDisputeFrom() {
  const order = state.order;
  const grace = rules()?.seller_dispute_grace;
  if (!order || role() !== "seller" || order.status !== "PAID" || !order.paid_at || grace === undefined) return null;
  const from = order.paid_at + grace;
  const clock = state.chainClock;
  // Between readings the chain's clock runs on like the wall clock; never read: the wall clock.
  const now = clock ? clock.timestamp + (Date.now() - clock.readAt) / 1000 : Date.now() / 1000;
  return now < from ? from : null;
}
