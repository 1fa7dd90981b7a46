// A test wallet injected into the page before any of its scripts run (Playwright's
// add_init_script). It behaves like a browser extension wallet: it announces itself by
// EIP-6963 and sets window.ethereum. Signing and sending go to Python through an exposed
// function (Python holds the key); every other request goes to the chain's RPC.
(() => {
  const CONFIG = __WALLET_CONFIG__;
  const listeners = new Map();
  const CONNECTED_KEY = "__sentinelTestWallet.connected";
  // The wallet's network and the networks it knows outlive a page load, as in a real wallet.
  const CHAIN_KEY = "__sentinelTestWallet.chain";
  const KNOWN_KEY = "__sentinelTestWallet.knownChains";
  const ADDED_KEY = "__sentinelTestWallet.added";
  let rpcId = 0;

  const norm = (id) => "0x" + Number(id).toString(16);
  const currentChain = () => localStorage.getItem(CHAIN_KEY) || norm(CONFIG.startChainIdHex || CONFIG.chainIdHex);
  const knownChains = () =>
    JSON.parse(localStorage.getItem(KNOWN_KEY) || "null") || (CONFIG.knownChains || [CONFIG.chainIdHex, "0x1"]).map(norm);

  function setChain(id) {
    const known = knownChains();
    if (!known.includes(id)) localStorage.setItem(KNOWN_KEY, JSON.stringify([...known, id]));
    if (id === currentChain()) return;
    localStorage.setItem(CHAIN_KEY, id);
    provider.emit("chainChanged", id);
  }

  function walletError(code, message) {
    const err = new Error(message);
    err.code = code;
    return err;
  }

  async function rpc(method, params) {
    const res = await fetch(CONFIG.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: params || [] }),
    });
    const data = await res.json();
    if (data.error) {
      // The shape wallets use: code, message and the revert data the dapp decodes.
      const err = new Error(data.error.message);
      err.code = data.error.code;
      err.data = data.error.data;
      throw err;
    }
    return data.result;
  }

  async function viaPython(method, params) {
    const answer = JSON.parse(await window.__sentinelTestWallet(method, JSON.stringify(params || [])));
    if (answer.error) {
      const err = new Error(answer.error.message);
      err.code = answer.error.code;
      err.data = answer.error.data;
      throw err;
    }
    return answer.result;
  }

  const provider = {
    isSentinelTestWallet: true,
    async request({ method, params }) {
      switch (method) {
        // Like MetaMask: no accounts for a site until the user connects it (remembered).
        case "eth_requestAccounts":
          localStorage.setItem(CONNECTED_KEY, "1");
          return [CONFIG.address];
        case "eth_accounts":
          return localStorage.getItem(CONNECTED_KEY) ? [CONFIG.address] : [];
        case "eth_chainId":
          return currentChain();
        case "net_version":
          return String(Number(currentChain()));
        // As MetaMask: switching to a network it does not know fails with 4902; adding one
        // records it and then switches to it.
        case "wallet_switchEthereumChain": {
          const id = norm(params[0].chainId);
          if (!knownChains().includes(id)) throw walletError(4902, `Unrecognized chain ID "${params[0].chainId}".`);
          setChain(id);
          return null;
        }
        case "wallet_addEthereumChain": {
          const added = JSON.parse(localStorage.getItem(ADDED_KEY) || "[]");
          localStorage.setItem(ADDED_KEY, JSON.stringify([...added, params[0]]));
          setChain(norm(params[0].chainId));
          return null;
        }
        case "personal_sign":
        case "eth_signTypedData_v4":
        case "eth_sendTransaction":
          return viaPython(method, params);
        default:
          return rpc(method, params);
      }
    },
    on(event, handler) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event).add(handler);
      return provider;
    },
    removeListener(event, handler) {
      listeners.get(event)?.delete(handler);
      return provider;
    },
    // Tests call this to play a wallet event (accountsChanged, chainChanged).
    emit(event, ...args) {
      for (const handler of listeners.get(event) || []) handler(...args);
    },
    // The user picks another account in the wallet (null: locks it / disconnects the
    // site), as in MetaMask: the wallet answers for it from now on, then tells the page.
    // Python must hold that account's key (TestWallet.add_account) for it to sign.
    // The user picks another network in the wallet.
    switchChain(id) {
      setChain(norm(id));
    },
    // What the page asked the wallet to add (wallet_addEthereumChain), oldest first.
    addedChains() {
      return JSON.parse(localStorage.getItem(ADDED_KEY) || "[]");
    },
    switchAccount(address) {
      if (address) CONFIG.address = address;
      else localStorage.removeItem(CONNECTED_KEY);
      provider.emit("accountsChanged", address ? [address] : []);
    },
  };

  const info = Object.freeze({
    uuid: "6f1c1d4e-2d0e-4f52-9a55-5e7e5e7e0001",
    name: "Sentinel Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 8 8'%3E%3Crect width='8' height='8' fill='%230f766e'/%3E%3C/svg%3E",
    rdns: "org.sentinel.testwallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  window.ethereum = provider;
})();
