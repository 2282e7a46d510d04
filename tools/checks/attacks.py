#!/usr/bin/env python3
"""Checks from outside, against the release binary, what a client reusing its connection and an
attacker see: keep-alive after bodies, revalidation by 304, 103 Early Hints, extension methods,
ranges, heuristic freshness; cache poisoning, exhaustion of the admin listener, stalled bodies,
faulty framing and request rates.

    tools/checks/attacks.py [--outpost .build/release/outpost]

Starts `outpost serve` processes on loopback ports (one of them under `ulimit -n 1024`) in front of
a raw-socket origin that runs in this script and records every request line and field it
receives. Prints one PASS/FAIL line per check with what was seen; exit 0 when all passed.
Processes started here are stopped by PID; temporary directories are removed.
"""
import argparse, os, re, resource, shutil, signal, socket, subprocess, sys, tempfile, threading, time

# ---------------------------------------------------------------- the origin

BIG = bytes(i % 251 for i in range(102400))


def http_date(offset=0.0):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + offset))


class Origin:
    """A raw HTTP/1.1 origin: records (request line, fields) and answers by path."""

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            connection, _ = self.listener.accept()
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def requests(self, path_prefix):
        with self.lock:
            return [(line, fields) for line, fields in self.seen if line.split(" ")[1].startswith(path_prefix)]

    def serve(self, connection):
        reader = connection.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                fields = {}
                while True:
                    header = reader.readline()
                    if header in (b"\r\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    fields[name.strip().lower()] = value.strip()
                length = int(fields.get("content-length", "0") or 0)
                if length:
                    reader.read(length)
                request_line = line.decode("latin-1").strip()
                with self.lock:
                    self.seen.append((request_line, fields))
                connection.sendall(self.answer(request_line, fields))
                if " /truncated" in request_line:
                    break  # the declared length never arrives
        except OSError:
            pass
        finally:
            connection.close()

    def answer(self, request_line, fields):
        method, target, _ = request_line.split(" ")

        def response(status, headers, body=b""):
            head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            head += f"Content-Length: {len(body)}\r\n\r\n"
            return head.encode() + (b"" if method == "HEAD" else body)

        if target.startswith("/nocache"):
            if fields.get("if-none-match") == '"v1"':
                bare = target.startswith("/nocache-bare")
                return b"HTTP/1.1 304 Not Modified\r\n" + (b"" if bare else b'ETag: "v1"\r\n') + b"\r\n"
            return response("200 OK", [("Cache-Control", "no-cache"), ("ETag", '"v1"')], b"stored page")
        if target.startswith("/truncated"):
            return b"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: 100\r\n\r\n0123456789"
        if target.startswith("/hints"):
            return b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + response(
                "200 OK", [("Cache-Control", "max-age=60")], b"hinted")
        if target.startswith("/big"):
            return response("200 OK", [("Cache-Control", "max-age=600"), ("Content-Type", "application/octet-stream")], BIG)
        if target.startswith("/static"):
            return response("200 OK", [("Date", http_date()), ("Last-Modified", http_date(-864000))], b"static")
        if target.startswith("/vary"):
            return response("200 OK", [("Cache-Control", "max-age=60"), ("Vary", "X-Lang")],
                            f"lang={fields.get('x-lang', 'default')}".encode())
        if target.startswith("/reflect"):
            return response("200 OK", [("Cache-Control", "max-age=60")], f"page for {target}".encode())
        return response("200 OK", [("Cache-Control", "max-age=60")], f"{method} {target}".encode())


# ---------------------------------------------------------------- a raw keep-alive client


class Connection:
    def __init__(self, port, timeout=5.0):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, text):
        self.socket.sendall(text.encode("latin-1") if isinstance(text, str) else text)

    def _fill(self):
        piece = self.socket.recv(65536)
        if not piece:
            raise EOFError("connection closed")
        self.buffer += piece

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line.decode("latin-1")

    def response(self, head_only=False):
        status_line = self._line()
        status = int(status_line.split(" ")[1])
        fields = {}
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        body = b""
        if not head_only and status >= 200 and status not in (204, 304):
            length = int(fields.get("content-length", "0"))
            while len(self.buffer) < length:
                self._fill()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, fields, body

    def ask(self, method, target, headers=(), body=b""):
        lines = f"{method} {target} HTTP/1.1\r\nHost: site.example\r\n" + "".join(f"{h}\r\n" for h in headers)
        if body:
            lines += f"Content-Length: {len(body)}\r\n"
        self.send(lines.encode("latin-1") + b"\r\n" + body)
        return self.response(head_only=(method == "HEAD"))

    def closed(self, wait=2.0):
        self.socket.settimeout(wait)
        try:
            while True:
                if not self.socket.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.socket.close()


# ---------------------------------------------------------------- nodes


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    def __init__(self, binary, origin_port, extra=(), descriptor_limit=None, rules=None):
        self.directory = tempfile.mkdtemp(prefix="outpost-attacks-")
        self.port, self.admin_port = free_port(), free_port()
        self.token = "attacks-check-token-0123456789"
        arguments = [binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin_port}",
                     "--admin-token", self.token, "--origin", f"http://127.0.0.1:{origin_port}", "--cache-dir", self.directory,
                     "--threads", "1", *extra]
        if rules:
            path = os.path.join(self.directory, "rules.yaml")
            with open(path, "w") as file:
                file.write(rules)
            arguments += ["--policy", path]
        if descriptor_limit:
            arguments = ["bash", "-c", f"ulimit -n {descriptor_limit} && exec \"$0\" \"$@\"", *arguments]
        self.log = open(os.path.join(self.directory, "node.log"), "w")
        self.process = subprocess.Popen(arguments, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the node did not start")

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def admin(self, path):
        connection = Connection(self.admin_port)
        connection.send(f"GET {path} HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer {self.token}\r\nConnection: close\r\n\r\n")
        answer = connection.response()
        connection.close()
        return answer

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


# ---------------------------------------------------------------- checks

results = []


def check(name, passed, seen):
    results.append(passed)
    print(f"{'PASS' if passed else 'FAIL'}  {name}: {seen}", flush=True)


def real_clients(node, origin):
    connection = Connection(node.port)
    timings = []
    for method in ("PUT", "POST"):
        status, _, _ = connection.ask(method, "/form", body=b"0123456789")
        time.sleep(0.05)
        started = time.time()
        status, _, body = connection.ask("GET", f"/after-{method.lower()}")
        timings.append((method, status, round((time.time() - started) * 1000, 1)))
    check("PUT/POST with a 10-byte body, then GET on the same connection in < 100 ms",
          all(status == 200 and took < 100 for _, status, took in timings), f"{timings}")
    for path in ("/nocache", "/nocache-bare"):
        statuses = [connection.ask("GET", path)[0:3:2] for _ in range(11)]
        conditional = sum(1 for _, fields in origin.requests(path) if fields.get("if-none-match") == '"v1"')
        check(f"no-cache + ETag {path}: 11 requests, 200 with the stored body every time, origin saw If-None-Match",
              all(s == 200 and b == b"stored page" for s, b in statuses) and conditional == 10,
              f"statuses {sorted(set(s for s, _ in statuses))}, conditional requests at the origin {conditional}")
    connection.send("GET /hints HTTP/1.1\r\nHost: site.example\r\n\r\n")
    first, _, _ = connection.response()
    final, _, body = connection.response()
    check("103 Early Hints reach an HTTP/1.1 client before the 200", (first, final, body) == (103, 200, b"hinted"),
          f"{first} then {final}")
    for method in ("M-SEARCH", "FOO"):
        status, _, body = connection.ask(method, "/x")
        seen = [line for line, _ in origin.requests("/x")]
        check(f"{method} /x reaches the origin with exactly that method", status == 200 and f"{method} /x HTTP/1.1" in seen,
              f"{status} {body!r}; origin saw {seen[-1:]}")
    connection.ask("GET", "/big")
    cases = [("bytes=0-99", 206, BIG[:100]), ("bytes=-100", 206, BIG[-100:])]
    for value, want_status, want_body in cases:
        status, fields, body = connection.ask("GET", "/big", [f"Range: {value}"])
        check(f"Range: {value} on a stored object", status == want_status and body == want_body,
              f"{status} {fields.get('content-range')} {len(body)} bytes")
    status, fields, body = connection.ask("GET", "/big", ["Range: bytes=0-9,5000-5009"])
    check("Range: bytes=0-9,5000-5009 is multipart/byteranges",
          status == 206 and fields.get("content-type", "").startswith("multipart/byteranges") and BIG[5000:5010] in body,
          f"{status} {fields.get('content-type')}")
    status, fields, _ = connection.ask("GET", "/big", ["Range: bytes=999999-"])
    check("Range: bytes=999999- is 416 with bytes */LENGTH", status == 416 and fields.get("content-range") == "bytes */102400",
          f"{status} {fields.get('content-range')}")
    outcomes = [connection.ask("GET", "/static.css")[1].get("cache-status", "") for _ in range(2)]
    check("Last-Modified 10 days old, no Cache-Control: a hit on the second request", "hit" in outcomes[1], f"{outcomes}")
    connection.close()


def poisoning(node, origin):
    Connection(node.port).ask("GET", "/vary", ["Connection: x-lang", "X-Lang: fr"])
    _, _, clean = Connection(node.port).ask("GET", "/vary", ["X-Lang: fr"])
    check("Connection: x-lang + X-Lang: fr does not poison the fr variant", clean == b"lang=fr", f"clean client got {clean!r}")
    status, _, _ = Connection(node.port).ask("GET", "/host-poison", ["Connection: host"])
    check("Connection: host is refused", status == 400 and not origin.requests("/host-poison"), f"{status}")
    Connection(node.port).ask("GET", "/reflect?utm_source=%3Cscript%3E")
    _, _, clean = Connection(node.port).ask("GET", "/reflect")
    check("utm_source is not forwarded, so the clean page is clean", clean == b"page for /reflect", f"{clean!r}")
    _, _, cloaked = Connection(node.port).ask("GET", "/reflect-jsonp?a=1&utm_content=x;callback=evil")
    check("parameter cloaking (utm_content=x;callback=evil) does not reach the origin", cloaked == b"page for /reflect-jsonp?a=1",
          f"{cloaked!r}")
    Connection(node.port).ask("GET", "/override", ["Forwarded: host=evil.example", "X-Host: evil.example",
                                                   "X-Forwarded-Scheme: nothttps", "X-HTTP-Method-Override: DELETE"])
    fields = origin.requests("/override")[-1][1]
    leaked = [name for name in ("x-host", "x-forwarded-scheme", "x-http-method-override") if name in fields]
    check("Forwarded rewritten, override headers stripped", not leaked and fields.get("forwarded", "").startswith("for="),
          f"origin saw forwarded={fields.get('forwarded')!r}, leaked {leaked}")


def framing(node):
    connection = Connection(node.port)
    connection.send("POST /te HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    status, _, _ = connection.response()
    check("HTTP/1.0 with Transfer-Encoding: 400 and the connection closed", status == 400 and connection.closed(), f"{status}")
    connection = Connection(node.port)
    connection.send("POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    status, _, _ = connection.response()
    check("Transfer-Encoding: gzip, chunked is 501", status == 501, f"{status}")


def truncated(node):
    try:
        status, fields, _ = Connection(node.port).ask("GET", "/truncated")
    except (EOFError, OSError) as error:
        status, fields = None, {"error": str(error)}
    cache_status = fields.get("cache-status", "")
    check("a truncated origin response never carries `stored` in its Cache-Status",
          "stored" not in cache_status and status in (502, None), f"{status} {cache_status!r}")


def absolute_form(node, origin):
    # RFC 9112 §3.2.2: the target's authority is the one that names the resource, not Host.
    Connection(node.port).ask("GET", "/reflect-abs")
    connection = Connection(node.port)
    connection.send("GET http://site.example/reflect-abs HTTP/1.1\r\nHost: other.example\r\n\r\n")
    status, fields, body = connection.response()
    check("absolute-form on the reverse listener gets the object origin-form stored",
          status == 200 and "hit" in fields.get("cache-status", "") and len(origin.requests("/reflect-abs")) == 1,
          f"{status} {fields.get('cache-status')!r}, origin saw {len(origin.requests('/reflect-abs'))}")
    connection = Connection(node.port)
    connection.send("GET http://trusted.example@evil.example/ HTTP/1.1\r\nHost: a\r\n\r\n")
    status, _, _ = connection.response()
    check("absolute-form with userinfo is refused", status == 400, f"{status}")


def forward_proxy(binary, origin):
    rules = ("version: 1\naccess:\n  rules:\n    - name: no-blocked\n      action: deny\n      hosts: [\"blocked.example\"]\n"
             "    - name: local\n      action: allow\n      clients: [127.0.0.0/8]\n")
    forward_port = free_port()
    node = Node(binary, origin.port, ["--forward-listen", f"127.0.0.1:{forward_port}", "--anonymity", "standard"], rules=rules)
    try:
        target = f"http://127.0.0.1:{origin.port}/forwarded"
        first = Connection(forward_port).ask("GET", target, ["X-Forwarded-For: 10.1.1.1"])
        second = Connection(forward_port).ask("GET", target)
        check("forward listener: a miss, then a hit", "stored" in first[1].get("cache-status", "")
              and second[1].get("cache-status", "").startswith("Outpost; hit"),
              f"{first[1].get('cache-status')!r} then {second[1].get('cache-status')!r}")
        fields = origin.requests("/forwarded")[-1][1]
        check("anonymity standard: the origin sees no X-Forwarded-For, no Proxy-Connection",
              "x-forwarded-for" not in fields and "proxy-connection" not in fields, f"{sorted(fields)}")
        status, _, body = Connection(forward_port).ask("GET", "http://blocked.example/")
        check("a deny rule answers 403 naming it", status == 403 and b"no-blocked" in body, f"{status} {body!r}")
        connection = Connection(forward_port)
        connection.send("CONNECT 127.0.0.1:25 HTTP/1.1\r\nHost: 127.0.0.1:25\r\n\r\n")
        status, _, _ = connection.response()
        check("CONNECT to port 25 is 403", status == 403, f"{status}")
        status, _, _ = Connection(forward_port).ask("GET", "/origin-form")
        check("origin-form on a forward listener is 400", status == 400, f"{status}")
    finally:
        node.stop()


def stalled_body(binary, origin):
    node = Node(binary, origin.port, ["--request-body-timeout", "1s"])
    try:
        connection = Connection(node.port)
        started = time.time()
        connection.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
        status, _, _ = connection.response()
        took = time.time() - started
        check("a body that stalls mid-way gets 408 within --request-body-timeout (1s)", status == 408 and took < 2.0,
              f"{status} after {took:.2f}s")
    finally:
        node.stop()


def request_rate(binary, origin):
    rules = "version: 1\nrules:\n  - name: api\n    paths: [/api/*]\n    requestRate: 2\n    requestBurst: 2\n"
    node = Node(binary, origin.port, rules=rules)
    try:
        connection = Connection(node.port)
        answers = [connection.ask("GET", "/api/items") for _ in range(3)]
        statuses = [status for status, _, _ in answers]
        _, _, metrics = node.admin("/metrics")
        counted = re.search(rb"outpost_rate_limited_total(\{[^}]*\})? (\d+)", metrics)
        check("over its rate a client gets 429 with Retry-After, and the counter moves",
              statuses == [200, 200, 429] and answers[2][1].get("retry-after") == "1" and counted and counted.group(2) == b"1",
              f"{statuses}, Retry-After {answers[2][1].get('retry-after')}, counter {counted.group(2) if counted else None}")
    finally:
        node.stop()


def admin_exhaustion(binary, origin):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    node = Node(binary, origin.port, descriptor_limit=1024)
    idle = []
    try:
        for _ in range(1100):
            probe = socket.socket()
            probe.setblocking(False)
            probe.connect_ex(("127.0.0.1", node.admin_port))
            idle.append(probe)
        time.sleep(1.0)
        started = time.time()
        status, _, _ = Connection(node.port, timeout=3).ask("GET", "/fresh-after-admin-flood")
        took = time.time() - started
        check("1,100 idle admin connections under ulimit -n 1024: a fresh public GET in < 1 s", status == 200 and took < 1.0,
              f"{status} after {took * 1000:.0f} ms")
        before, clock = node.cpu_seconds(), time.time()
        time.sleep(5)
        share = (node.cpu_seconds() - before) / (time.time() - clock)
        check("... and the node's CPU stays under 10% while they idle", share < 0.10, f"{share * 100:.1f}%")
    finally:
        for probe in idle:
            probe.close()
        node.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def main():
    parser = argparse.ArgumentParser()
    repository = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--outpost", default=os.path.join(repository, ".build", "release", "outpost"))
    arguments = parser.parse_args()
    origin = Origin()
    node = Node(arguments.outpost, origin.port)
    try:
        real_clients(node, origin)
        poisoning(node, origin)
        framing(node)
        truncated(node)
        absolute_form(node, origin)
    finally:
        node.stop()
    forward_proxy(arguments.outpost, origin)
    stalled_body(arguments.outpost, origin)
    request_rate(arguments.outpost, origin)
    admin_exhaustion(arguments.outpost, origin)
    print(f"{sum(results)} passed, {len(results) - sum(results)} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
