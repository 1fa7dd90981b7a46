// The deployment (addresses, ABIs, tokens) from the backend, the contracts bound to the
// wallet, revert reasons turned into words, and the wait until the indexer has seen a
// transaction (pages read everything else from the API, which follows the chain).

import { api, ApiError } from "./api.js";
import { loadEthers, utf8Hex } from "./ethers-lazy.js";
import { formatDuration } from "./format.js";
import { hasKey, t } from "./i18n.js";

/** @typedef {import("../../types/api").Schemas["DeploymentPublic"]} Deployment */

/** @type {Promise<Deployment> | null} */
let deploymentPromise = null;
/** @type {Deployment | null} */
let loaded = null;

export function loadDeployment() {
  deploymentPromise ??= api("/chain/deployment", { auth: false }).then(
    (deployment) => (loaded = deployment),
    (err) => {
      deploymentPromise = null;
      throw err;
    },
  );
  return deploymentPromise;
}

/** The numbers revert texts name ("at most {max_window}"), from the deployed escrow's rules. */
function ruleWords() {
  const rules = loaded?.protocol;
  if (!rules) return undefined;
  return {
    min_window: formatDuration(rules.min_payment_window),
    max_window: formatDuration(rules.max_payment_window),
    grace: formatDuration(rules.seller_dispute_grace),
    max_fee: `${rules.max_fee_bps / 100}%`,
  };
}

/** @param {Deployment} deployment */
export async function escrowContract(deployment, runner) {
  const { Contract } = await loadEthers();
  return new Contract(deployment.contracts.OtcEscrow, deployment.abis.OtcEscrow, runner);
}

/** @param {Deployment} deployment */
export async function tokenContract(deployment, address, runner) {
  const { Contract } = await loadEthers();
  return new Contract(address, deployment.token_abi, runner);
}

/**
 * The manifest's entry for a token, or a neutral stand-in for one it does not list.
 * @param {Deployment | null} deployment
 * @returns {import("../../types/api").Schemas["TokenPublic"]}
 */
export function tokenInfo(deployment, address) {
  const known = deployment?.tokens?.find((tk) => tk.address.toLowerCase() === String(address).toLowerCase());
  return known || { address, symbol: `${String(address).slice(0, 6)}…`, decimals: 18, name: address };
}

export function fiatBytes3(code) {
  return utf8Hex(code.toUpperCase());
}

/** keccak of an order-specific random string: ties the mark-paid to this payment. */
export async function paymentRef(orderId) {
  const ethers = await loadEthers();
  const nonce = ethers.hexlify(ethers.randomBytes(16));
  return ethers.keccak256(ethers.toUtf8Bytes(`sentinel-otc:order:${orderId}:payment:${nonce}`));
}

export async function termsHash(text) {
  const ethers = await loadEthers();
  return ethers.keccak256(ethers.toUtf8Bytes(text || ""));
}

/**
 * Log of `eventName` emitted by the escrow in `receipt`, decoded.
 * @param {Deployment} deployment
 */
export async function findEvent(deployment, receipt, eventName) {
  if (!receipt) return null;
  const { Interface } = await loadEthers();
  const iface = new Interface(deployment.abis.OtcEscrow);
  for (const log of receipt?.logs || []) {
    if (log.address.toLowerCase() !== deployment.contracts.OtcEscrow.toLowerCase()) continue;
    try {
      const parsed = iface.parseLog(log);
      if (parsed?.name === eventName) return parsed;
    } catch {
      // another contract's log
    }
  }
  return null;
}

const ERROR_SELECTOR = "0x08c379a0"; // Error(string)

/** Error(string)'s ABI encoding (offset, length, UTF-8 bytes): read here, no ethers needed. */
function decodeRevertData(data) {
  if (typeof data !== "string" || !data.startsWith(ERROR_SELECTOR)) return null;
  try {
    const body = data.slice(10);
    const word = (i) => Number(BigInt(`0x${body.slice(i * 64, i * 64 + 64)}`));
    const start = word(0) / 32;
    const length = word(start);
    const hex = body.slice((start + 1) * 64, (start + 1) * 64 + length * 2);
    if (hex.length !== length * 2) return null;
    const bytes = Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** Revert data hidden anywhere in a wallet's error object (wallets nest it differently). */
function findRevertData(err, depth = 0) {
  if (!err || depth > 5) return null;
  if (typeof err === "string") return err.startsWith(ERROR_SELECTOR) ? err : null;
  if (typeof err !== "object") return null;
  for (const key of ["data", "error", "info", "originalError", "cause", "payload"]) {
    const found = findRevertData(err[key], depth + 1);
    if (found) return found;
  }
  return null;
}

/** "otc_escrow: amount exceeds available" from whatever the wallet or ethers threw. */
function revertReason(err) {
  if (!err) return null;
  if (typeof err.reason === "string" && err.reason) return err.reason;
  if (typeof err.revert?.args?.[0] === "string") return err.revert.args[0];
  const decoded = decodeRevertData(findRevertData(err));
  if (decoded) return decoded;
  const text = [err.shortMessage, err.message, err.info?.error?.message, err.error?.message].filter(Boolean).join(" ");
  const match = text.match(/\b((?:otc_escrow|erc20|pausable|access_control|ecdsa|kyc_registry|node_registry): [^"'()\n]+)/i);
  return match ? match[1].trim() : null;
}

function reasonKey(reason) {
  const words = reason.replace(/^[a-z0-9_]+:\s*/i, "").toLowerCase();
  return `revert.${words.replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")}`;
}

function rejected(err) {
  return (
    err?.code === "ACTION_REJECTED" ||
    err?.code === 4001 ||
    err?.info?.error?.code === 4001 ||
    err?.error?.code === 4001
  );
}

/**
 * What went wrong, for people: {message, reason}. `message` is in the page's language;
 * `reason` is the contract's own revert string when there is one (shown as detail).
 */
export function describeError(err) {
  if (rejected(err)) return { message: t("error.rejected"), reason: null };
  const reason = revertReason(err);
  if (reason) {
    const key = reasonKey(reason);
    return { message: hasKey(key) ? t(key, ruleWords()) : t("revert.unknown"), reason };
  }
  if (err instanceof ApiError) return { message: err.message, reason: null };
  if (err?.code === "INSUFFICIENT_FUNDS") return { message: t("error.insufficient_gas"), reason: null };
  if (err?.code === "CALL_EXCEPTION") return { message: t("revert.unknown"), reason: null };
  return { message: err?.shortMessage || err?.message || String(err), reason: null };
}

/** Resolves once the backend's indexer has ingested `blockNumber` (pages then read fresh data). */
export async function waitIndexed(blockNumber, { timeoutMs = 20000 } = {}) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const status = await api("/chain/status", { auth: false });
      if (status.indexed >= blockNumber) return true;
    } catch {
      // keep waiting: the backend may be restarting
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return false;
}
