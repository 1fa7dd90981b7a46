// The frame every page shares: header with navigation, language switch and wallet
// controls, the banner for network trouble, and `boot()` that brings it all up.

import { getSession } from "./api.js";
import { describeError, loadDeployment } from "./chain.js";
import { shortAddress } from "./format.js";
import { applyI18n, currentLang, initI18n, LANGS, setLang, t } from "./i18n.js";
import { startTodos } from "./todos.js";
import { el } from "./ui.js";
import {
  availableWallets,
  connectWallet,
  ensureChain,
  onWalletChange,
  restoreWallet,
  signedIn,
  signIn,
  signOut,
  startDiscovery,
  wallet,
} from "./wallet.js";

const NAV = [
  { page: "market", href: "index.html", key: "nav.market" },
  { page: "create-ad", href: "create-ad.html", key: "nav.create_ad" },
  { page: "my-ads", href: "my-ads.html", key: "nav.my_ads" },
  { page: "orders", href: "orders.html", key: "nav.orders" },
  { page: "account", href: "account.html", key: "nav.account" },
  { page: "explorer", href: "explorer.html", key: "nav.explorer" },
  { page: "nodes", href: "nodes.html", key: "nav.nodes" },
  { page: "kyc", href: "kyc.html", key: "nav.kyc" },
  { page: "monitoring", href: "monitoring.html", key: "nav.monitoring", roles: ["monitor", "admin"] },
];

export const ctx = {
  /** @type {import("../../types/api").Schemas["DeploymentPublic"] | null} */
  deployment: null,
  deploymentError: null,
  page: null,
};

let shellMessage = null; // {message, reason} of the last wallet / sign-in failure
let busy = false; // while the wallet is asked to connect / sign in, the button says so (disabled)

function renderWalletArea() {
  const area = document.getElementById("wallet-area");
  if (!area) return;
  const chooser = document.getElementById("wallet-chooser");
  chooser?.remove();
  if (!wallet.address) {
    area.replaceChildren(
      busy
        ? el("button", { class: "btn btn-primary", type: "button", "data-testid": "signing-in", disabled: true, "aria-busy": "true" }, el("span", { class: "spinner" }), t("wallet.connecting"))
        : el("button", { class: "btn btn-primary", type: "button", "data-testid": "connect-wallet", onclick: onConnectClick }, t("wallet.connect")),
    );
    return;
  }
  const onChain = ctx.deployment && wallet.chainId === ctx.deployment.chain_id;
  area.replaceChildren(
    el(
      "span",
      { class: `account ${onChain ? "" : "account-wrong-chain"}`, "data-testid": "account", title: wallet.address },
      el("span", { class: `dot ${onChain ? "dot-ok" : "dot-bad"}` }),
      shortAddress(wallet.address),
    ),
    signedIn()
      ? el("button", { class: "btn btn-small btn-ghost", type: "button", "data-testid": "sign-out", onclick: onSignOut }, t("wallet.sign_out"))
      : busy
        ? el("button", { class: "btn btn-small", type: "button", "data-testid": "signing-in", disabled: true, "aria-busy": "true", title: t("tx.confirm_in_wallet") }, el("span", { class: "spinner" }), t("wallet.signing_in"))
        : el("button", { class: "btn btn-small", type: "button", "data-testid": "sign-in", onclick: onSignIn }, t("wallet.sign_in")),
  );
}

function renderBanner() {
  const banner = document.getElementById("banner");
  if (!banner) return;
  const items = [];
  if (ctx.deploymentError) {
    const { message } = describeError(ctx.deploymentError);
    items.push(el("div", { class: "banner banner-error", role: "alert" }, t("banner.no_deployment"), " ", el("code", {}, message)));
  }
  if (wallet.address && ctx.deployment && wallet.chainId !== ctx.deployment.chain_id) {
    items.push(
      el(
        "div",
        { class: "banner banner-warn", "data-testid": "wrong-chain" },
        t("banner.wrong_chain", { want: ctx.deployment.chain_id, have: wallet.chainId }),
        " ",
        el("button", { class: "btn btn-small", type: "button", "data-testid": "switch-chain", onclick: onSwitchChain }, t("wallet.switch")),
      ),
    );
  }
  if (shellMessage) {
    items.push(
      el(
        "div",
        { class: "banner banner-error", role: "alert", "data-testid": "shell-error" },
        shellMessage.message,
        shellMessage.reason ? el("code", { class: "reason" }, shellMessage.reason) : null,
        el("button", { class: "btn btn-small btn-ghost", type: "button", onclick: () => { shellMessage = null; renderBanner(); } }, t("action.dismiss")),
      ),
    );
  }
  banner.replaceChildren(...items);
}

function fail(err) {
  console.warn(err);
  shellMessage = describeError(err);
  renderBanner();
}

/** Run a wallet prompt with the header's button disabled and saying what is awaited. */
async function whileBusy(work) {
  busy = true;
  shellMessage = null;
  renderShellState();
  try {
    await work();
  } catch (err) {
    fail(err);
  } finally {
    busy = false;
  }
  renderShellState();
}

function connectAndSignIn(entry) {
  return whileBusy(async () => {
    await connectWallet(entry);
    if (ctx.deployment) await ensureChain(ctx.deployment);
    if (ctx.deployment && !signedIn()) await signIn(ctx.deployment);
  });
}

function onConnectClick(event) {
  const wallets = availableWallets();
  if (wallets.length === 0) {
    fail(new Error(t("wallet.none_found")));
    return;
  }
  if (wallets.length === 1) {
    connectAndSignIn(wallets[0]);
    return;
  }
  // Several wallets announced themselves: let the user pick one.
  const chooser = el(
    "div",
    { class: "wallet-chooser", id: "wallet-chooser", role: "menu" },
    el("div", { class: "muted small" }, t("wallet.choose")),
    wallets.map((w) =>
      el(
        "button",
        { class: "btn btn-ghost wallet-option", type: "button", role: "menuitem", "data-testid": "wallet-option", onclick: () => { chooser.remove(); connectAndSignIn(w); } },
        w.info.icon ? el("img", { src: w.info.icon, alt: "", width: "20", height: "20" }) : null,
        w.info.name,
      ),
    ),
  );
  event.currentTarget.after(chooser);
}

function onSignIn() {
  return whileBusy(async () => {
    if (ctx.deployment) await ensureChain(ctx.deployment);
    await signIn(ctx.deployment);
  });
}

async function onSignOut() {
  await signOut();
  renderShellState();
}

async function onSwitchChain() {
  try {
    await ensureChain(ctx.deployment);
  } catch (err) {
    fail(err);
  }
  renderShellState();
}

function renderShellState() {
  renderWalletArea();
  renderBanner();
}

function renderHeader(page) {
  const header = document.getElementById("shell");
  const langSelect = el(
    "select",
    { class: "lang-switch", "data-testid": "lang-switch", "data-i18n-aria": "lang.label", onchange: (e) => setLang(e.target.value) },
    Object.entries(LANGS).map(([code, name]) => el("option", { value: code, selected: code === currentLang() }, name)),
  );
  header.replaceChildren(
    el(
      "div",
      { class: "topbar" },
      el("a", { class: "brand", href: "index.html" }, el("img", { src: "img/logo.svg", alt: "", width: "24", height: "24" }), el("span", { "data-i18n": "app.name" })),
      el("div", { class: "topbar-right" }, el("div", { id: "todos-area", class: "todos-area" }), langSelect, el("div", { id: "wallet-area", class: "wallet-area" })),
    ),
    el(
      "nav",
      { class: "nav", "data-i18n-aria": "nav.label" },
      NAV.filter((item) => !item.roles || item.roles.some((r) => getSession()?.user?.roles?.includes(r))).map((item) =>
        el("a", { href: item.href, "data-i18n": item.key, "data-testid": `nav-${item.page}`, "aria-current": item.page === page ? "page" : null }),
      ),
    ),
    el("div", { id: "banner" }),
  );
}

/** Start a page: i18n, header, deployment, wallet. Pages render after it resolves. */
export async function boot(page) {
  ctx.page = page;
  startDiscovery();
  try {
    await initI18n();
  } catch (err) {
    console.error(err);
  }
  renderHeader(page);
  applyI18n(document);
  try {
    ctx.deployment = await loadDeployment();
  } catch (err) {
    ctx.deploymentError = err;
  }
  await restoreWallet();
  onWalletChange(renderShellState);
  window.addEventListener("sentinel:session", renderShellState);
  window.addEventListener("sentinel:lang", renderShellState);
  renderShellState();
  startTodos();
  document.body.classList.remove("booting");
  return ctx;
}

/** Make sure the user is signed in (SIWE) before a call that needs a session. */
export async function requireSession() {
  if (signedIn()) return getSession();
  await connectWallet();
  await ensureChain(ctx.deployment);
  await signIn(ctx.deployment);
  renderShellState();
  return getSession();
}
