#!/usr/bin/env bash
# Disk hits on bodies larger than memory takes, and the node's peak RSS while they are served:
# four 60 MiB objects stored on disk alone (--memory-size 16MiB: a memory shard holds 1 MiB), the
# node restarted with --warm-memory 0, then 20 concurrent clients (curl --limit-rate 20M), five
# per object, every response a disk hit.
# Usage: tools/checks/disk-stream-rss.sh [path-to-outpost]   (default .build/release/outpost)
# Loopback only; starts a Python origin and the node on free ports, stops both by PID.
set -euo pipefail
binary=${1:-.build/release/outpost}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
origin_port=$(free_port)
node_port=$(free_port)
work=$(mktemp -d)
python3 "$(dirname "$0")/sized-origin.py" "$origin_port" $((60 << 20)) 3600 &
origin_pid=$!
node_pid=""
trap 'kill $origin_pid $node_pid 2>/dev/null || true; rm -rf "$work"' EXIT
start_node() {
    "$binary" serve --listen 127.0.0.1:$node_port --origin http://127.0.0.1:$origin_port --threads 1 \
        --memory-size 16MiB --disk-size 1GiB --warm-memory 0 --cache-dir "$work/cache" --admin-listen off \
        --log-level warning --access-log off &
    node_pid=$!
    # Ready once the port accepts (a request would fill another object).
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $node_port), 1)" 2>/dev/null && return
        sleep 0.1
    done
}
start_node
for k in 1 2 3 4; do curl -s -o /dev/null --max-time 60 "http://127.0.0.1:$node_port/large?v=$k"; done
sleep 1   # the fills commit on the disk writer
kill $node_pid; wait $node_pid 2>/dev/null || true
start_node
echo "RSS at start: $(grep VmRSS /proc/$node_pid/status | awk '{print $2}') kB"
for i in $(seq 20); do
    curl -s -o /dev/null --max-time 60 --limit-rate 20M -w "%{http_code} %{size_download} %header{cache-status}\n" \
        "http://127.0.0.1:$node_port/large?v=$((i % 4 + 1))" &
done 2>/dev/null | sort | uniq -c
peak=$(grep VmHWM /proc/$node_pid/status | awk '{print $2}')
echo "node peak RSS ${peak} kB ($((peak / 1024)) MiB)"
