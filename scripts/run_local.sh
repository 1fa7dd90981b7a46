#!/usr/bin/env bash
# `make run`: start Anvil (unless one already listens on 8545), deploy, keep running.
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

echo
echo "Local chain: http://127.0.0.1:${RPC_PORT}  (Ctrl-C stops it)"
wait
