#!/usr/bin/env python3
"""An origin for the operator checks: every GET gets SIZE bytes (a repeating byte pattern, sent in
1 MiB writes) with Content-Length and Cache-Control: public, max-age=MAX_AGE.

    tools/checks/sized-origin.py PORT SIZE [MAX_AGE]

Serves 127.0.0.1:PORT until stopped; each request on a thread of its own."""
import http.server
import sys

PORT, SIZE = int(sys.argv[1]), int(sys.argv[2])
MAX_AGE = sys.argv[3] if len(sys.argv) > 3 else "60"
CHUNK = bytes(range(256)) * 4096


class Origin(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(SIZE))
        self.send_header("Cache-Control", f"public, max-age={MAX_AGE}")
        self.end_headers()
        left = SIZE
        while left > 0:
            part = CHUNK[:min(left, len(CHUNK))]
            self.wfile.write(part)
            left -= len(part)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Origin).serve_forever()
