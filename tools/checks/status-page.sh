#!/usr/bin/env bash
# Renders the admin status page in headless Chromium (Debian's `chromium`) against a live node and
# checks what a person would see: the hit ratio after 3 misses and 7 hits, a point on the chart,
# the origin up, the host and the keys. Everything runs on loopback; every process started here is
# stopped by PID on exit.
#
#   tools/checks/status-page.sh            # builds (debug) if needed; exit 0 when the page shows it all
#   SCREENSHOT=/tmp/status.png tools/checks/status-page.sh   # also keep a screenshot
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v chromium >/dev/null || { echo "status-page: chromium is missing (apt-get install chromium)" >&2; exit 2; }
swift build --product outpost >/dev/null
binary="$(swift build --show-bin-path)/outpost"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# An origin whose responses are cacheable for ten minutes.
cat > "$work/origin.py" <<'PY'
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("body of " + self.path).encode()
        self.send_response(200)
        self.send_header("Cache-Control", "max-age=600")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/origin.py" > "$work/origin.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/origin.port" ] && break; sleep 0.1; done
origin_port="$(cat "$work/origin.port")"

token="status-page-check-$(date +%s%N)"
"$binary" serve --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --admin-token "$token" --disk-size 0 \
    --threads 1 --origin "http://127.0.0.1:$origin_port" > "$work/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "admin-port=" "$work/node.log" && break; sleep 0.1; done
port="$(grep -o ' port=[0-9]*' "$work/node.log" | head -1 | cut -d= -f2)"
admin_port="$(grep -o 'admin-port=[0-9]*' "$work/node.log" | head -1 | cut -d= -f2)"

# 3 misses, then 7 hits.
for path in /a /b /c /a /b /c /a /b /c /a; do
    curl -sf -o /dev/null -H "Host: site.example" "http://127.0.0.1:$port$path"
done

dom="$work/dom.html"
chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=8000 --dump-dom \
    "http://127.0.0.1:$admin_port/#token=$token" > "$dom" 2>/dev/null
if [ -n "${SCREENSHOT:-}" ]; then
    chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=8000 --window-size=900,1100 \
        --screenshot="$SCREENSHOT" "http://127.0.0.1:$admin_port/#token=$token" >/dev/null 2>&1 || true
fi

failed=0
check() {
    if grep -q -- "$2" "$dom"; then echo "ok    $1"; else echo "FAIL  $1 (no match for: $2)"; failed=1; fi
}
check "overall request hit ratio 70%" 'id="ratio-all">70.0%'
check "last-minute hit ratio 70%" 'id="ratio-1m">70.0%'
check "a point on the hit-ratio chart" '<circle class="point"'
check "the origin shown up" 'class="up">up<'
check "the host listed" '<td>site.example</td><td class="n">10</td>'
check "a top key listed" 'http://site.example/a'
check "memory fill shown" '<td>memory</td><td class="n">3</td>'
if [ "$failed" -ne 0 ]; then
    echo "status-page: the rendered page did not show everything; DOM kept in /tmp/status-page-dom.html" >&2
    cp "$dom" /tmp/status-page-dom.html
    exit 1
fi
echo "status-page: the page renders the node's figures"
