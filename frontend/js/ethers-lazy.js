// ethers (522 KB, 161 KB gzipped) is for signing and reading the chain: most page views
// do neither, so it loads on first use (a wallet connecting, a transaction), not up front.

/** @type {Promise<typeof import("../vendor/ethers.min.js").ethers> | null} */
let loading = null;

export function loadEthers() {
  loading ??= import("../vendor/ethers.min.js").then(
    (module) => module.ethers,
    (err) => {
      loading = null; // a network hiccup: the next use tries again
      throw err;
    },
  );
  return loading;
}

/** "0x…" of the UTF-8 bytes of `text` (what personal_sign and bytes3 fields take). */
export function utf8Hex(text) {
  return `0x${Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
