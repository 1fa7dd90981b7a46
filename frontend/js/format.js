// Numbers, money, addresses and times as people read them, in the page's language.
// Token amounts stay bigint / decimal strings of base units until they are shown.

import { currentLang, t } from "./i18n.js";
import { LIMITS, parseDecimal } from "./numbers.js";

// Base units -> decimal text with bigint alone: the market and explorer show amounts
// without loading ethers (see ethers-lazy.js). Same text as ethers' formatUnits ("1.0", "5" with no decimals).
function formatUnits(value, decimals) {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const sign = negative ? "-" : "";
  if (!decimals) return `${sign}${whole}`;
  return `${sign}${whole}.${digits.slice(digits.length - decimals).replace(/0+$/, "") || "0"}`;
}

export const PAYMENT_METHODS = [
  { bit: 0, key: "method.bank" },
  { bit: 1, key: "method.alipay" },
  { bit: 2, key: "method.wechat" },
  { bit: 3, key: "method.card" },
  { bit: 4, key: "method.cash" },
  { bit: 5, key: "method.other" },
  { bit: 6, key: "method.desk" },
];

export function methodNames(mask) {
  const value = BigInt(mask);
  const names = PAYMENT_METHODS.filter((m) => (value >> BigInt(m.bit)) & 1n).map((m) => t(m.key));
  return names.length ? names : [t("method.unknown")];
}

/** ISO 4217 minor-unit digits (USD 2, JPY 0); 2 for a code Intl does not know. */
export function fiatDigits(fiat) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency: fiat }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

function groupDecimal(text) {
  const [whole, frac] = text.split(".");
  const grouped = new Intl.NumberFormat(currentLang()).format(BigInt(whole.replace("-", "")));
  return `${whole.startsWith("-") ? "-" : ""}${grouped}${frac ? `.${frac}` : ""}`;
}

/** Base units -> "1,234.5" (trailing zeros dropped). */
function formatAmount(value, decimals) {
  if (value === null || value === undefined || value === "") return "—";
  let text = formatUnits(BigInt(value), decimals);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return groupDecimal(text);
}

export function formatToken(value, token) {
  return `${formatAmount(value, token.decimals)} ${token.symbol}`;
}

/** Fiat minor units -> "7.25 USD" (or "¥7.25", as the language writes it). */
export function formatFiat(minor, fiat) {
  if (minor === null || minor === undefined) return "—";
  const digits = fiatDigits(fiat);
  const text = formatUnits(BigInt(minor), digits);
  try {
    return new Intl.NumberFormat(currentLang(), {
      style: "currency",
      currency: fiat,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(Number(text));
  } catch {
    return `${text} ${fiat}`;
  }
}

/** Fiat due for `amount` base units at `price` minor units per whole token (rounded down, like the backend). */
export function fiatTotal(amount, price, decimals) {
  return (BigInt(amount) * BigInt(price)) / 10n ** BigInt(decimals);
}

/**
 * "12.5" (or "12,5", "1,000.5": see numbers.js) in token units -> base units; throws a
 * readable Error on bad or ambiguous input and above `max` (the escrow's amount bound).
 */
export function parseAmount(text, decimals, { max = LIMITS.amount } = {}) {
  return parseDecimal(text, decimals, { max });
}

/** A price typed in `fiat` -> minor units, within the escrow's price bound. */
export function parsePrice(text, fiat) {
  return parseDecimal(text, fiatDigits(fiat), { max: LIMITS.price });
}

export function priceInput(minor, fiat) {
  return formatUnits(BigInt(minor), fiatDigits(fiat));
}

export function amountInput(value, decimals) {
  let text = formatUnits(BigInt(value), decimals);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text;
}

export function shortAddress(address) {
  if (!address) return "—";
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function shortHash(hash) {
  if (!hash) return "—";
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

export function sameAddress(a, b) {
  return Boolean(a && b && a.toLowerCase() === b.toLowerCase());
}

export function formatTime(unixSeconds) {
  if (!unixSeconds) return "—";
  return new Intl.DateTimeFormat(currentLang(), { dateStyle: "medium", timeStyle: "medium" }).format(
    new Date(unixSeconds * 1000),
  );
}

/** 3725 -> "1:02:05", 65 -> "01:05". */
export function formatCountdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(sec)}` : `${pad(m)}:${pad(sec)}`;
}

/** 5400 -> "1 h 30 min" in words of the page's language. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(Number(seconds));
  if (s < 60) return t("duration.seconds", { n: s });
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const parts = [];
  if (days) parts.push(t("duration.days", { n: days }));
  if (hours) parts.push(t("duration.hours", { n: hours }));
  if (minutes && !days) parts.push(t("duration.minutes", { n: minutes }));
  return parts.join(" ");
}

export function formatPercent(fraction) {
  if (fraction === null || fraction === undefined) return "—";
  return new Intl.NumberFormat(currentLang(), { style: "percent", maximumFractionDigits: 0 }).format(fraction);
}
