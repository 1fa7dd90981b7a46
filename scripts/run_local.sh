#!/usr/bin/env bash
# `make run`: start Anvil (unless one already listens on 8545), deploy, start the backend and
# one node agent, keep running.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p run
RPC_PORT=${RPC_PORT:-8545}

rpc_up() {
  curl -s -o /dev/null -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:${RPC_PORT}"
}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if rpc_up; then
  echo "Using the chain already running on 127.0.0.1:${RPC_PORT}"
else
  # The chain's state is kept in run/anvil-state.json between runs.
  anvil --host 127.0.0.1 --port "$RPC_PORT" --chain-id 1337 --state run/anvil-state.json > run/anvil.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do rpc_up && break; sleep 0.2; done
  rpc_up || { echo "Anvil did not start; see run/anvil.log"; exit 1; }
  echo "Anvil started on 127.0.0.1:${RPC_PORT} (log: run/anvil.log)"
fi

ape run deploy --network ethereum:local:node

# The backend migrates its database, indexes the chain and serves the web app.
APP_PORT=${APP_PORT:-8000}
export SENTINEL_RPC_URL="http://127.0.0.1:${RPC_PORT}"
export SENTINEL_MANIFEST_PATH="$PWD/deployments/$(curl -s -X POST -H 'content-type: application/json' \
  --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$SENTINEL_RPC_URL" \
  | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))').json"
python -m uvicorn --factory backend.main:create_app --host 127.0.0.1 --port "$APP_PORT" > run/backend.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:${APP_PORT}/api/chain/status" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:${APP_PORT}/api/chain/status" || { echo "The backend did not start; see run/backend.log"; tail -20 run/backend.log; exit 1; }

# One node agent, its own process, admitted at start-up by the three local authorities
# (this backend holds their keys in development): the demo's gasless actions go through it.
NODE_PORT=${NODE_PORT:-8600}
NODE_KEYFILE=run/node-agent.key
NODE_ADDRESS=$(python -m scripts.node_agent address --keyfile "$NODE_KEYFILE")
# The operator funds its node's gas; on the local chain Anvil mints it.
curl -s -o /dev/null -X POST -H 'content-type: application/json' \
  --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"anvil_setBalance\",\"params\":[\"${NODE_ADDRESS}\",\"0x56bc75e2d63100000\"]}" "$SENTINEL_RPC_URL"
python -m scripts.node_agent run --platform "http://127.0.0.1:${APP_PORT}" --rpc "$SENTINEL_RPC_URL" \
  --manifest "$SENTINEL_MANIFEST_PATH" --keyfile "$NODE_KEYFILE" --port "$NODE_PORT" > run/node-agent.log 2>&1 &
pids+=($!)
node_admitted() { curl -sf "http://127.0.0.1:${NODE_PORT}/health" | grep -q '"state":"admitted"'; }
for _ in $(seq 1 150); do node_admitted && break; sleep 0.2; done
if node_admitted; then
  echo "Node agent ${NODE_ADDRESS} admitted by the authorities (http://127.0.0.1:${NODE_PORT})"
else
  echo "The node agent is not admitted yet; see run/node-agent.log and http://127.0.0.1:${APP_PORT}/nodes.html"
fi

echo
echo "Sentinel OTC is running:"
echo "  web app and API   http://127.0.0.1:${APP_PORT}/   (API docs: http://127.0.0.1:${APP_PORT}/docs)"
echo "  local chain       http://127.0.0.1:${RPC_PORT}  (chain id 1337)"
echo "  node agent        http://127.0.0.1:${NODE_PORT}/health  (status: http://127.0.0.1:${APP_PORT}/nodes.html)"
echo "  logs              run/anvil.log, run/backend.log, run/node-agent.log"
echo "Ctrl-C stops everything."
wait
