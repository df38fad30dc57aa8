#!/usr/bin/env bash
# Runs the two-replica deployment on this machine without containers: a local redis-server and
# two replicas of the data_server example on 127.0.0.1:8001 and :8002, sharing their rate
# limits. Point a load balancer (or your client, with `Host: mcp.example.test`) at either.
set -euo pipefail
cd "$(dirname "$0")"
cargo build -q --example data_server
bin=../../target/debug/examples/data_server
redis-server --port 6390 --save "" --appendonly no --daemonize yes
trap 'redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true; kill 0' EXIT
for port in 8001 8002; do
    MCP_CONFIG=mcp-secure.toml MCP_HTTP_ADDR=127.0.0.1:$port REDIS_URL=redis://127.0.0.1:6390 \
        "$bin" &
done
wait
