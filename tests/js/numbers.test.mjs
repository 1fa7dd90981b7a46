// Unit tests of the frontend's number parser (frontend/js/numbers.js), run with Node's own
// runner: `node --test tests/js/`. The browser journeys cover the forms that use it.

import assert from "node:assert/strict";
import { test } from "node:test";

import { LIMITS, NumberInputError, formatPlain, isCurrency, parseDecimal } from "../../frontend/js/numbers.js";

const refused = (text, decimals, key, options) =>
  assert.throws(() => parseDecimal(text, decimals, options), (err) => err instanceof NumberInputError && err.key === key, `${text} -> ${key}`);

for (const lang of ["en", "zh-CN"]) {
  test(`decimal comma is a decimal, never a thousands separator (${lang})`, () => {
    assert.equal(parseDecimal("1,02", 2, { lang }), 102n); // $1.02, not $102.00
    assert.equal(parseDecimal("1,5", 6, { lang }), 1_500_000n); // 1.5 tokens, not 15
    assert.equal(parseDecimal("12,3456", 6, { lang }), 12_345_600n);
    assert.equal(parseDecimal(",5", 2, { lang }), 50n);
  });

  test(`point is the decimal separator (${lang})`, () => {
    assert.equal(parseDecimal("1.02", 2, { lang }), 102n);
    assert.equal(parseDecimal("7.25", 2, { lang }), 725n);
    assert.equal(parseDecimal("1.000", 6, { lang }), 1_000_000n); // one, not a thousand
    assert.equal(parseDecimal("0.000001", 6, { lang }), 1n);
    assert.equal(parseDecimal("5.", 2, { lang }), 500n);
  });

  test(`grouping by the locale (${lang})`, () => {
    assert.equal(parseDecimal("1,000", 6, { lang }), 1_000_000_000n);
    assert.equal(parseDecimal("1,000", 2, { lang }), 100_000n);
    assert.equal(parseDecimal("12,345,678", 0, { lang }), 12_345_678n);
    assert.equal(parseDecimal("1,234.56", 2, { lang }), 123_456n);
    assert.equal(parseDecimal("1.234,56", 2, { lang }), 123_456n); // structurally one reading
    assert.equal(parseDecimal("1 000 000", 0, { lang }), 1_000_000n);
    assert.equal(parseDecimal("1 000,5", 2, { lang }), 100_050n);
  });

  test(`full-width input from a Chinese IME (${lang})`, () => {
    assert.equal(parseDecimal("１，５", 6, { lang }), 1_500_000n);
    assert.equal(parseDecimal("７．２５", 2, { lang }), 725n);
  });

  test(`what cannot be decided is refused (${lang})`, () => {
    refused("1.000.000", 2, "numbers.ambiguous", { lang }); // point is the decimal here
    refused("1,2,3", 2, "numbers.ambiguous", { lang });
    refused("1,23.45,6", 2, "numbers.ambiguous", { lang });
    refused("12,34.5", 2, "numbers.ambiguous", { lang });
    refused("1.000", 2, "error.too_many_decimals", { lang }); // $1.000 has too many places, never $1000
  });

  test(`not numbers (${lang})`, () => {
    refused("", 2, "numbers.empty", { lang });
    refused("   ", 2, "numbers.empty", { lang });
    refused("-1", 2, "numbers.negative", { lang });
    refused("1e5", 2, "numbers.not_a_number", { lang });
    refused("abc", 2, "numbers.not_a_number", { lang });
    refused(".", 2, "numbers.not_a_number", { lang });
    refused("1 00", 2, "numbers.not_a_number", { lang });
    refused("0x10", 2, "numbers.not_a_number", { lang });
  });
}

test("a German page reads the comma as its decimal separator", () => {
  assert.equal(parseDecimal("1,5", 2, { lang: "de" }), 150n);
  assert.equal(parseDecimal("1.000", 2, { lang: "de" }), 100_000n);
  refused("1,5,5", 2, "numbers.ambiguous", { lang: "de" });
  refused("1,025", 0, "error.too_many_decimals", { lang: "de" }); // a decimal comma where none fits
});

test("bounds the contract enforces are enforced before any transaction", () => {
  const eighty = "9".repeat(80);
  refused(eighty, 2, "numbers.too_large", { max: LIMITS.price });
  assert.equal(parseDecimal(formatPlain(LIMITS.price, 2), 2, { max: LIMITS.price }), LIMITS.price);
  refused(formatPlain(LIMITS.price + 1n, 2), 2, "numbers.too_large", { max: LIMITS.price });
  assert.equal(parseDecimal(eighty, 2), BigInt(eighty) * 100n); // no bound given: none applied
});

test("formatPlain writes what parseDecimal reads back", () => {
  assert.equal(formatPlain(1_500_000n, 6), "1.5");
  assert.equal(formatPlain(100n, 2), "1");
  assert.equal(formatPlain(0n, 0), "0");
});

test("ISO 4217 currency codes", () => {
  assert.ok(isCurrency("USD"));
  assert.ok(isCurrency("CNY"));
  assert.ok(!isCurrency("usd"));
  assert.ok(!isCurrency("XYZ"));
  assert.ok(!isCurrency("US"));
});

// The escrow's bounds, read from its source: LIMITS must follow them on both sides of the
// book (create_ad and create_buy_ad share `_create_ad` and `_check_terms`; top_up bounds a
// buy ad's wanted amount like a sell ad's available one).
test("LIMITS track the escrow's bounds (contracts/OtcEscrow.vy)", async () => {
  const { readFile } = await import("node:fs/promises");
  const source = await readFile(new URL("../../contracts/OtcEscrow.vy", import.meta.url), "utf8");
  const constant = (name) => {
    const m = source.match(new RegExp(`^${name}: constant\\(uint256\\) = 2\\*\\*(\\d+) - 1$`, "m"));
    assert.ok(m, `${name} not found`);
    return 2n ** BigInt(m[1]) - 1n;
  };
  const bound = (pattern) => {
    const m = source.match(pattern);
    assert.ok(m, `no assert matching ${pattern}`);
    return constant(m[1]);
  };
  assert.equal(LIMITS.price, bound(/assert price <= (MAX_UINT\d+), "otc_escrow: price too large"/));
  assert.equal(LIMITS.maxAmount, bound(/assert max_amount <= (MAX_UINT\d+), "otc_escrow: max amount too large"/));
  assert.equal(LIMITS.amount, bound(/assert amount <= (MAX_UINT\d+), "otc_escrow: amount too large"/));
  // A top-up keeps available + locked within the same bound.
  assert.equal(LIMITS.amount, bound(/assert ad\.available \+ ad\.locked \+ amount <= (MAX_UINT\d+), "otc_escrow: amount too large"/));
  // Both sides go through the same checks: a buy ad has no bound of its own to track.
  assert.match(source, /def create_buy_ad\([\s\S]*?return self\._create_ad\(/);
});
