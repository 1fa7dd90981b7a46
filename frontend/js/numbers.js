// Numbers typed by people, read the way the page's language writes them, or refused.
// Every form parses amounts and prices here (format.js's parseAmount / parsePrice call in),
// so "1,02" can never become 102 on one page and 1.02 on another.
//
// The rule (en and zh-CN write "1,234.5": point for decimals, comma for thousands):
// - the locale's decimal separator ("."), once: decimals. "1.000" is one, never a thousand;
//   seen twice ("1.000.000") it is refused: the locale cannot tell what was meant.
// - the locale's grouping separator (","): thousands when it groups correctly ("1,000",
//   "12,345,678"); written once where it cannot be thousands ("1,5", "1,02") it is the
//   decimal comma many people type: 1.5 and 1.02, never 15 or 102.
// - both ("1,234.56" or "1.234,56"): the last one is the decimal separator, the other must
//   group by threes; anything else is refused. Spaces may group thousands too ("1 000").
// The parsed value is shown next to each field before anything is signed (attachParsed).

import { currentLang, t } from "./i18n.js";

/** The escrow's bounds (contracts/OtcEscrow.vy `_check_terms`, `_create_ad`, `top_up`): beyond them it
 * reverts. Sell and buy ads share them (tests/js/numbers.test.mjs reads them from the contract). */
export const LIMITS = {
  price: 2n ** 64n - 1n, // fiat minor units per whole token
  maxAmount: 2n ** 96n - 1n, // min / max per order
  amount: 2n ** 128n - 1n, // an ad's amount, a top-up, an order
};

/** A number the user typed that cannot be used; `message` says why in the page's language. */
export class NumberInputError extends Error {
  constructor(key, vars = {}) {
    super(t(key, vars));
    this.key = key;
    this.vars = vars;
  }
}

/** The decimal and grouping separators of `lang` ("." and "," for en and zh-CN). */
export function separators(lang = currentLang()) {
  try {
    const parts = new Intl.NumberFormat(lang).formatToParts(12345.6);
    const decimal = parts.find((p) => p.type === "decimal")?.value ?? ".";
    const group = parts.find((p) => p.type === "group")?.value ?? ",";
    // Only "." and "," are typed as separators; a space group (fr) is handled as a space.
    if ((decimal === "." || decimal === ",") && decimal !== group) {
      return { decimal, group: group === "." || group === "," ? group : decimal === "." ? "," : "." };
    }
  } catch {
    // an unknown language: English's separators
  }
  return { decimal: ".", group: "," };
}

const SPACE = /[\s\u00a0\u202f\u2009']/;
const SPACES = /[\s\u00a0\u202f\u2009']/g;

/** "1,234,567" splits into groups of three after a first group of one to three digits. */
function groupsByThree(text, sep) {
  const groups = text.split(sep);
  return /^\d{1,3}$/.test(groups[0]) && groups.slice(1).every((g) => /^\d{3}$/.test(g));
}

/**
 * `text` -> base units with `decimals` digits after the point, e.g. ("1,5", 6) -> 1500000n.
 * Throws NumberInputError (empty, not a number, ambiguous, too many decimals, too large).
 * @param {string} text
 * @param {number} decimals
 * @param {{lang?: string, max?: bigint, format?: (value: bigint) => string}} [options]
 *   max: the largest value accepted; format: how the refusal names it (default: digits)
 * @returns {bigint}
 */
export function parseDecimal(text, decimals, { lang = currentLang(), max = undefined, format = undefined } = {}) {
  // Full-width digits and separators (an IME's "１，５") read as their ASCII selves.
  const typed = String(text ?? "").normalize("NFKC").trim();
  if (typed === "") throw new NumberInputError("numbers.empty");
  if (/^[-−]/.test(typed)) throw new NumberInputError("numbers.negative");
  // Spaces group thousands ("1 000 000", "1 000,5"), only in the whole part, by threes.
  let s = typed;
  if (SPACE.test(s)) {
    const m = s.match(/^([\d\s\u00a0\u202f\u2009']+)([.,]\d*)?$/);
    if (!m || !groupsByThree(m[1].replace(SPACES, " "), " ")) throw new NumberInputError("numbers.not_a_number", { text: typed });
    s = m[1].replace(SPACES, "") + (m[2] ?? "");
  }
  if (!/^[\d.,]+$/.test(s) || !/\d/.test(s)) throw new NumberInputError("numbers.not_a_number", { text: typed });
  const { decimal, group } = separators(lang);
  const commas = (s.match(/,/g) || []).length;
  const points = (s.match(/\./g) || []).length;
  const ambiguous = () => new NumberInputError("numbers.ambiguous", { text: typed, example: example(decimals) });
  let whole = s;
  let frac = "";
  if (commas && points) {
    // Both: the last is the decimal separator (once), the other groups by threes.
    const dec = s.lastIndexOf(",") > s.lastIndexOf(".") ? "," : ".";
    const grp = dec === "," ? "." : ",";
    if ((dec === "," ? commas : points) > 1) throw ambiguous();
    [whole, frac] = s.split(dec);
    if (!groupsByThree(whole, grp)) throw ambiguous();
    whole = whole.replaceAll(grp, "");
  } else if (commas || points) {
    const sep = commas ? "," : ".";
    const count = commas || points;
    if (sep === decimal) {
      if (count > 1) throw ambiguous();
      [whole, frac] = s.split(sep);
    } else if (groupsByThree(s, sep) && (count > 1 || s.length - s.indexOf(sep) - 1 === 3)) {
      // The locale's grouping, used correctly: "1,000" is a thousand here.
      whole = s.replaceAll(sep, "");
    } else if (count === 1 && sep === group) {
      // Not a grouping ("1,5", "1,02", "12,3456"): the decimal comma.
      [whole, frac] = s.split(sep);
    } else {
      throw ambiguous();
    }
  }
  if (frac.length > decimals) throw new NumberInputError("error.too_many_decimals", { decimals });
  const scale = 10n ** BigInt(decimals);
  const value = BigInt(whole || "0") * scale + BigInt(frac.padEnd(decimals, "0") || "0");
  if (max !== undefined && value > max) {
    throw new NumberInputError("numbers.too_large", { max: format ? format(max) : formatPlain(max, decimals) });
  }
  return value;
}

/** An unambiguous way to write a number with `decimals` places, for the refusal's example. */
function example(decimals) {
  return decimals > 0 ? `1234.5` : "1234";
}

/** Base units -> "1234.5" (no grouping: read back by parseDecimal in any language). */
export function formatPlain(value, decimals) {
  const scale = 10n ** BigInt(decimals);
  const whole = value / scale;
  const frac = (value % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : `${whole}`;
}

let currencies = null;

/** Whether `code` is an ISO 4217 currency the browser knows (USD, CNY, EUR, ...). */
export function isCurrency(code) {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  if (!currencies) {
    try {
      currencies = new Set(Intl.supportedValuesOf("currency"));
    } catch {
      currencies = new Set(); // no list: the shape alone decides
    }
  }
  return currencies.size === 0 || currencies.has(code);
}

/**
 * Show what `input` is read as, in `output`, on every keystroke: "= $1.02 per TUSD", or the
 * reason it cannot be used. Returns a function that repaints (for a language change).
 * @param {HTMLInputElement} input
 * @param {HTMLElement} output
 * @param {(text: string) => bigint} parse throws with a message for the user
 * @param {(value: bigint) => string} show the value as the user should read it
 */
export function attachParsed(input, output, parse, show) {
  const paint = () => {
    output.classList.remove("parsed-bad");
    output.removeAttribute("data-value");
    if (!input.value.trim()) {
      output.textContent = "";
      return;
    }
    try {
      const value = parse(input.value);
      output.textContent = `= ${show(value)}`;
      output.dataset.value = value.toString();
    } catch (err) {
      output.textContent = err.message;
      output.classList.add("parsed-bad");
    }
  };
  input.addEventListener("input", paint);
  paint();
  return paint;
}
