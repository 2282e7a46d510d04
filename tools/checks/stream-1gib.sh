#!/usr/bin/env bash
# Streams a 1 GiB response through a release `outpost` and reports the node's peak RSS.
# Usage: tools/checks/stream-1gib.sh [path-to-outpost]   (default .build/release/outpost)
# Loopback only; starts a Python origin and the node on free ports, stops both by PID.
set -euo pipefail
binary=${1:-.build/release/outpost}
origin_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$(dirname "$0")/sized-origin.py" "$origin_port" $((1 << 30)) &
origin_pid=$!
"$binary" serve --listen 127.0.0.1:$node_port --origin http://127.0.0.1:$origin_port --log-level warning &
node_pid=$!
trap 'kill $node_pid $origin_pid 2>/dev/null || true' EXIT
sleep 1.5
start=$(date +%s.%N)
bytes=$(curl -s -o /dev/null -w '%{size_download}' --max-time 120 http://127.0.0.1:$node_port/big)
end=$(date +%s.%N)
peak=$(grep VmHWM /proc/$node_pid/status | awk '{print $2}')
echo "received ${bytes} bytes in $(echo "$end - $start" | bc) s; node peak RSS ${peak} kB ($((peak / 1024)) MiB)"
[ "$bytes" = "$((1 << 30))" ]
