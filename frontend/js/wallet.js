// Wallets: found by EIP-6963 (every injected wallet announces itself), with
// window.ethereum as the fallback for wallets that predate it. The page keeps one
// connected wallet, follows accountsChanged / chainChanged without reloading, and asks
// the wallet to switch to (or add) the deployment's chain before anything is sent.

import { api, getSession, revokeSession, setSession } from "./api.js";
import { loadEthers, utf8Hex } from "./ethers-lazy.js";
import { t } from "./i18n.js";

const WALLET_KEY = "sentinel.wallet";
const announced = new Map(); // uuid -> {info, provider}
const bus = new EventTarget();

export const wallet = {
  entry: null, // {info, provider} of the connected wallet
  address: null, // checksum address
  chainId: null, // number
};

let browserProvider = null;
let browserProviderKey = null;
/** ethers, loaded by attach(): set whenever `wallet.entry` is (see getProvider). */
let ethers = null;
let listening = null;

export function onWalletChange(handler) {
  bus.addEventListener("change", () => handler(wallet));
}

function emit() {
  bus.dispatchEvent(new Event("change"));
}

export function startDiscovery() {
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = /** @type {CustomEvent} */ (event).detail || {};
    if (!info?.uuid || typeof provider?.request !== "function") return;
    announced.set(info.uuid, { info, provider });
    emit();
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
}

/** The wallets the page can use: the EIP-6963 ones, else window.ethereum. */
export function availableWallets() {
  const list = [...announced.values()];
  const injected = /** @type {any} */ (window).ethereum; // an EIP-1193 provider, when a wallet set one
  if (list.length === 0 && typeof injected?.request === "function") {
    list.push({
      info: { uuid: "window.ethereum", name: t("wallet.browser_wallet"), icon: "", rdns: "window.ethereum" },
      provider: injected,
    });
  }
  return list;
}

function rememberedWallet() {
  const list = availableWallets();
  const rdns = localStorage.getItem(WALLET_KEY);
  return list.find((w) => w.info.rdns === rdns) || (list.length === 1 ? list[0] : null);
}

function listen(entry) {
  if (listening === entry.provider) return;
  if (listening?.removeListener) {
    listening.removeListener("accountsChanged", onAccountsChanged);
    listening.removeListener("chainChanged", onChainChanged);
  }
  entry.provider.on?.("accountsChanged", onAccountsChanged);
  entry.provider.on?.("chainChanged", onChainChanged);
  listening = entry.provider;
}

async function onAccountsChanged(accounts) {
  const next = accounts?.length ? (await loadEthers()).getAddress(accounts[0]) : null;
  if (next === wallet.address) return;
  wallet.address = next;
  if (!next) wallet.entry = null;
  endSessionUnless(next);
  emit();
}

/** The session belongs to the address that signed in; a different account signs in anew. */
function endSessionUnless(address) {
  const session = getSession();
  if (!session || session.address === address) return;
  setSession(null);
  // End it on the server as well: its HTTP-only cookie stays in the browser and would
  // otherwise still answer for the previous account on every request without a Bearer
  // token (plain loads, WebSockets) while the wallet shows another one.
  revokeSession(session.token);
}

function onChainChanged(chainIdHex) {
  wallet.chainId = Number(chainIdHex);
  emit();
}

async function attach(entry, accounts) {
  // The first wallet connection is the moment a page needs ethers (checksums, signing).
  ethers = await loadEthers();
  listen(entry);
  wallet.entry = entry;
  wallet.address = ethers.getAddress(accounts[0]);
  wallet.chainId = Number(await entry.provider.request({ method: "eth_chainId" }));
  localStorage.setItem(WALLET_KEY, entry.info.rdns);
  endSessionUnless(wallet.address);
  emit();
}

/** Reconnect silently to a wallet that already trusts this site (no prompt). */
export async function restoreWallet() {
  // Announcements answer our request at once, but give a slow wallet a moment, when one
  // was connected before (a first visit has nothing to restore and no reason to wait).
  if (availableWallets().length === 0 && localStorage.getItem(WALLET_KEY)) {
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const entry = rememberedWallet();
  if (!entry) return false;
  try {
    const accounts = await entry.provider.request({ method: "eth_accounts" });
    if (accounts?.length) {
      await attach(entry, accounts);
      return true;
    }
  } catch {
    // a wallet that refuses eth_accounts is connected by the button instead
  }
  return false;
}

export async function connectWallet(entry) {
  entry = entry || rememberedWallet() || availableWallets()[0];
  if (!entry) throw new Error(t("wallet.none_found"));
  const accounts = await entry.provider.request({ method: "eth_requestAccounts" });
  if (!accounts?.length) throw new Error(t("wallet.no_account"));
  await attach(entry, accounts);
}

function errorCode(err) {
  return err?.code ?? err?.data?.originalError?.code ?? err?.error?.code;
}

/**
 * Switch the wallet to the deployment's chain, adding it first if the wallet lacks it.
 * @param {import("../../types/api").Schemas["DeploymentPublic"]} deployment
 */
export async function ensureChain(deployment) {
  if (!wallet.entry) throw new Error(t("wallet.not_connected"));
  if (wallet.chainId === deployment.chain_id) return;
  const chainId = `0x${deployment.chain_id.toString(16)}`;
  const provider = wallet.entry.provider;
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (err) {
    if (errorCode(err) !== 4902) throw err;
    await provider.request({
      method: "wallet_addEthereumChain",
      params: [
        {
          chainId,
          chainName: t("wallet.chain_name", { id: deployment.chain_id }),
          rpcUrls: [deployment.rpc_url],
          nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        },
      ],
    });
  }
  wallet.chainId = Number(await provider.request({ method: "eth_chainId" }));
  emit();
  if (wallet.chainId !== deployment.chain_id) throw new Error(t("wallet.wrong_chain", { id: deployment.chain_id }));
}

/** An ethers provider over the wallet, rebuilt when the chain changes (null without a wallet). */
export function getProvider() {
  if (!wallet.entry) return null;
  const key = `${wallet.entry.info.uuid}:${wallet.chainId}`;
  if (browserProviderKey !== key) {
    browserProvider = new ethers.BrowserProvider(wallet.entry.provider, wallet.chainId, { pollingInterval: 500 });
    browserProviderKey = key;
  }
  return browserProvider;
}

/** @param {import("../../types/api").Schemas["DeploymentPublic"]} deployment */
export async function getSigner(deployment) {
  if (!wallet.entry) await connectWallet();
  await ensureChain(deployment);
  return getProvider().getSigner(wallet.address);
}

/** The EIP-4361 text; the backend parses it with the `siwe` package, so the layout is exact. */
function siweMessage({ domain, address, statement, uri, chainId, nonce, issuedAt, expirationTime = undefined }) {
  const lines = [
    `${domain} wants you to sign in with your Ethereum account:`,
    address,
    "",
    statement,
    "",
    `URI: ${uri}`,
    "Version: 1",
    `Chain ID: ${chainId}`,
    `Nonce: ${nonce}`,
    `Issued At: ${issuedAt}`,
  ];
  if (expirationTime) lines.push(`Expiration Time: ${expirationTime}`);
  return lines.join("\n");
}

/**
 * Sign-In with Ethereum: nonce, personal_sign of the message, session token.
 * @param {import("../../types/api").Schemas["DeploymentPublic"]} deployment
 */
export async function signIn(deployment) {
  if (!wallet.entry) await connectWallet();
  const { nonce, chain_id: chainId } = await api("/auth/nonce", { auth: false });
  const address = wallet.address;
  const message = siweMessage({
    domain: location.host,
    address,
    statement: "Sign in to Sentinel OTC",
    uri: location.origin,
    chainId: chainId ?? deployment.chain_id,
    nonce,
    issuedAt: new Date().toISOString(),
  });
  const signature = await wallet.entry.provider.request({
    method: "personal_sign",
    params: [utf8Hex(message), address],
  });
  const result = await api("/auth/siwe", { method: "POST", body: { message, signature }, auth: false });
  setSession({ token: result.token, expires_at: result.expires_at, address, user: result.user });
  return result;
}

export async function signOut() {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch {
    // the token is dropped locally either way
  }
  setSession(null);
}

export function signedIn() {
  const session = getSession();
  return Boolean(session && wallet.address && session.address === wallet.address);
}
