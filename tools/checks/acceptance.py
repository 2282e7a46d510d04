#!/usr/bin/env python3
"""Checks, from outside, what the disk tier and the admin API promise, against the built binaries.

    tools/checks/acceptance.py [disk] [admin]      # both when none is named
        [--outpost .build/release/outpost] [--outpostctl .build/release/outpostctl] [--keep]

Every check starts real `outpost serve` processes on loopback ports in front of an origin that
runs in this script (it records every request it receives, with its fields), drives them with
plain HTTP and with `outpostctl`, and prints one line per check: PASS or FAIL and what was seen.
Exit 0 when every check passed, 1 otherwise. Each check gets a cache directory of its own under
a temporary directory, removed at the end unless --keep. Processes started here are stopped by PID.

disk:   restart after SIGTERM (1,000 objects, all hits, no origin request); SIGKILL during 200
        concurrent 1 MiB fills (every body served afterwards equals the origin's, every indexed
        body intact per `outpostctl inspect`); --disk-size 50MiB under 200 MiB of fills; `ls` and
        `inspect` on a running node's directory; a flipped byte in a body file or an inline body
        is refetched; a
        24 MiB response, too large for memory, is stored on disk and served from it.
admin:  purge by URL (two Vary variants), by tag (an untagged neighbour stays a hit), soft purge
        (the next fetch is conditional), 401 without a token, 405 for PURGE on the public
        listener, the hit ratio after 3 misses and 7 hits, /metrics as Prometheus text, and
        `outpostctl purge --tag --dry-run --json` changing nothing.
"""
import argparse, hashlib, http.client, http.server, json, os, re, shutil, signal, socket, subprocess
import sqlite3, sys, tempfile, threading, time

MiB = 1 << 20


# ---------------------------------------------------------------- the origin


def big_body(number):
    """1 MiB that differs for every object number."""
    return hashlib.sha256(f"big-{number}".encode()).digest() * (MiB // 32)


def huge_body(number):
    """24 MiB: more than a memory shard holds with the default --memory-size (256 MiB / 16)."""
    return b"".join(big_body(number * 100 + part) for part in range(24))


def small_body(path, size=1024):
    seed = hashlib.sha256(path.encode()).hexdigest().encode()
    return (seed * (size // len(seed) + 1))[:size]


class Origin:
    """An HTTP/1.1 origin on 127.0.0.1 that records what it receives."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.chunk_pause = 0.0
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *arguments):
                pass

            def do_GET(self):
                with origin.lock:
                    origin.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, fields, body = origin.answer(self.path, self.headers)
                self.send_response(status)
                for name, value in fields:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "HEAD" or status == 304:
                    return
                pause = origin.chunk_pause
                for start in range(0, len(body), 64 * 1024):
                    self.wfile.write(body[start:start + 64 * 1024])
                    if pause:
                        time.sleep(pause)

            do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path, headers):
        fields = [("Cache-Control", "max-age=3600")]
        if path.startswith("/big/"):
            body = big_body(int(path.rsplit("/", 1)[1]))
        elif path.startswith("/huge/"):
            body = huge_body(int(path.rsplit("/", 1)[1]))
        elif path.startswith("/vary"):
            language = headers.get("Accept-Language", "none")
            fields.append(("Vary", "Accept-Language"))
            body = f"{path} in {language}".encode()
        else:
            body = small_body(path)
        if path.startswith("/tagged/"):
            fields.append(("Surrogate-Key", "t1"))
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        fields.append(("ETag", etag))
        fields.append(("Content-Type", "application/octet-stream" if path.startswith("/big/") else "text/plain"))
        if headers.get("If-None-Match") == etag:
            return 304, fields, b""
        return 200, fields, body

    def seen(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r[1] == path]

    def count(self):
        with self.lock:
            return len(self.requests)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the node


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Node:
    token = "acceptance-check-token-0123456789"

    def __init__(self, binary, directory, origin_port, *extra):
        self.binary, self.directory, self.origin_port, self.extra = binary, directory, origin_port, extra
        self.process = None

    def start(self):
        # The same ports on every start: the Host a client sends (and so the cache key) stays.
        if not hasattr(self, "port"):
            self.port, self.admin_port = free_port(), free_port()
        self.log = open(os.path.join(self.directory, "..", os.path.basename(self.directory) + ".log"), "a")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--admin-listen", f"127.0.0.1:{self.admin_port}",
             "--admin-token", self.token, "--cache-dir", self.directory, "--origin", f"http://127.0.0.1:{self.origin_port}",
             "--threads", "2", *self.extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"outpost exited with {self.process.returncode}; log in {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.admin_port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("outpost did not start listening")

    def stop(self, signal_number=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def get(self, path, headers=None, method="GET", connection=None):
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        if own:
            connection.close()
        return response.status, response.getheader("Cache-Status", ""), body

    def admin(self, method, path, body=None, token=True):
        connection = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        return response.status, text


def is_hit(cache_status):
    return re.search(r"(^|,)\s*Outpost;\s*hit", cache_status) is not None


# ---------------------------------------------------------------- checks


class Run:
    def __init__(self, arguments):
        self.arguments = arguments
        self.root = tempfile.mkdtemp(prefix="outpost-acceptance-")
        self.results = []
        self.nodes = []

    def directory(self, name):
        path = os.path.join(self.root, name)
        os.makedirs(path, exist_ok=True)
        return path

    def node(self, name, origin, *extra):
        node = Node(self.arguments.outpost, self.directory(name), origin.port, *extra)
        self.nodes.append(node)
        return node

    def record(self, name, passed, detail):
        self.results.append(passed)
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {detail}", flush=True)

    def ctl(self, *words):
        result = subprocess.run([self.arguments.outpostctl, *words], capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout, result.stderr


def fill(node, paths, workers=16):
    """GETs every path with `workers` keep-alive connections; returns {path: (status, cache-status, body)}."""
    answers, lock, queue = {}, threading.Lock(), list(paths)

    def work():
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                path = queue.pop()
            try:
                answer = node.get(path, connection=connection)
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=120)
                answer = (0, "", repr(error).encode())
            with lock:
                answers[path] = answer
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def directory_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_size
            except FileNotFoundError:
                pass
    return total


def wait_for(predicate, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def check_restart(run, origin):
    node = run.node("restart", origin).start()
    paths = [f"/obj/{n}" for n in range(1000)]
    first = fill(node, paths)
    stored = sum(1 for status, _, _ in first.values() if status == 200)
    wait_for(lambda: json.loads(node.admin("GET", "/stats")[1])["disk"]["objects"] >= 1000, 30)
    code = node.stop(signal.SIGTERM)
    before = origin.count()
    node.start()
    second = fill(node, paths)
    hits = sum(1 for status, cache_status, body in second.values() if status == 200 and is_hit(cache_status))
    same = sum(1 for path, (_, _, body) in second.items() if body == small_body(path))
    fetched = origin.count() - before
    node.stop()
    run.record("restart after SIGTERM", stored == 1000 and code == 0 and hits == 1000 and same == 1000 and fetched == 0,
               f"first pass 1000/{stored} stored, SIGTERM exit {code}; after restart {hits}/1000 hits, "
               f"{same}/1000 bodies equal the origin's, {fetched} new origin requests")


def check_crash(run, origin):
    node = run.node("crash", origin).start()
    origin.chunk_pause = 0.01  # 16 chunks a body: about 0.2 s per 1 MiB fill
    bodies = os.path.join(node.directory, "bodies")
    paths = [f"/big/{n}" for n in range(200)]
    filler = threading.Thread(target=fill, args=(node, paths, 200))
    filler.start()
    on_disk = lambda: sum(1 for folder, _, files in os.walk(bodies) for name in files if name.endswith(".body"))
    wait_for(lambda: on_disk() >= 30, 60)
    files_at_kill = on_disk()
    node.stop(signal.SIGKILL)
    filler.join()
    origin.chunk_pause = 0.0
    node.start()
    answers = fill(node, paths, 16)
    wrong = [path for path, (status, _, body) in answers.items() if status != 200 or body != big_body(int(path.rsplit("/", 1)[1]))]
    hits = sum(1 for _, cache_status, _ in answers.values() if is_hit(cache_status))
    code, listing, _ = run.ctl("ls", "--cache-dir", node.directory, "--json", "--limit", "1000")
    entries = json.loads(listing) if code == 0 else []
    damaged = []
    for entry in entries:
        code, text, _ = run.ctl("inspect", entry["url"], "--cache-dir", node.directory, "--json")
        variants = json.loads(text) if code == 0 else []
        if code != 0 or any(variant.get("bodyIntact") is not True for variant in variants):
            damaged.append(entry["url"])
    node.stop()
    run.record("SIGKILL during 200 concurrent 1 MiB fills",
               not wrong and not damaged and len(entries) > 0,
               f"{files_at_kill} bodies on disk at the kill; after restart {200 - len(wrong)}/200 bodies equal the origin's "
               f"({hits} from the cache); inspect: {len(entries)} indexed objects, {len(damaged)} without an intact body")


def check_disk_bound(run, origin):
    node = run.node("bound", origin, "--disk-size", "50MiB").start()
    largest, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            largest[0] = max(largest[0], directory_bytes(node.directory))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    answers = fill(node, [f"/big/{1000 + n}" for n in range(200)], 8)
    time.sleep(1)
    stop.set()
    sampler.join()
    final = directory_bytes(node.directory)
    bodies = directory_bytes(os.path.join(node.directory, "bodies"))
    node.stop()
    final_after_stop = directory_bytes(node.directory)
    ok = sum(1 for status, _, _ in answers.values() if status == 200)
    bound = 50 * MiB + MiB
    run.record("--disk-size 50MiB under 200 MiB of fills",
               ok == 200 and largest[0] <= bound and final_after_stop <= bound,
               f"{ok}/200 answered; cache directory at most {largest[0] / MiB:.1f} MiB while filling, "
               f"{final / MiB:.1f} MiB at the end (bodies {bodies / MiB:.1f} MiB), {final_after_stop / MiB:.1f} MiB after stop; "
               f"bound 50 MiB + one object")


def check_larger_than_memory(run, origin):
    node = run.node("huge", origin).start()
    path = "/huge/1"
    first_status, first_cache, first_body = node.get(path)
    wait_for(lambda: json.loads(node.admin("GET", "/stats")[1])["disk"]["objects"] >= 1, 30)
    stats = json.loads(node.admin("GET", "/stats")[1])
    node.stop()
    node.start()
    status, cache_status, body = node.get(path)
    node.stop()
    expected = huge_body(1)
    run.record("a 24 MiB response (more than a memory shard holds) is stored on disk and served from it after a restart",
               first_body == expected and body == expected and is_hit(cache_status) and len(origin.seen(path)) == 1,
               f"first {first_status} {first_cache!r}; memory objects {stats['memory']['objects']}, disk objects "
               f"{stats['disk']['objects']}; after restart {status} {cache_status!r}, body equal: {body == expected}, "
               f"origin requests {len(origin.seen(path))}")


def check_offline_listing(run, origin):
    node = run.node("listing", origin).start()
    paths = ["/img/a.png", "/img/b.png", "/css/site.css"]
    fill(node, paths, 1)
    wait_for(lambda: json.loads(node.admin("GET", "/stats")[1])["disk"]["objects"] >= 3)
    code, listing, error = run.ctl("ls", "--cache-dir", node.directory, "--prefix", "/img/", "--json")
    entries = json.loads(listing) if code == 0 else []
    urls = sorted(entry["url"] for entry in entries)
    url = f"http://127.0.0.1:{node.port}/img/a.png"
    inspect_code, inspected, _ = run.ctl("inspect", url, "--cache-dir", node.directory)
    running = node.process.poll() is None
    node.stop()
    expected = [f"http://127.0.0.1:{node.port}/img/a.png", f"http://127.0.0.1:{node.port}/img/b.png"]
    run.record("outpostctl ls --prefix /img/ --json and inspect on a running node's directory",
               code == 0 and urls == expected and inspect_code == 0 and "body intact" in inspected and running,
               f"ls exit {code}: {urls}; inspect exit {inspect_code}, {len(inspected.splitlines())} lines, "
               f"says the body is intact: {'body intact' in inspected}; node running throughout: {running}")


def check_flipped_byte(run, origin):
    """A flipped byte in a stored body, in a body file (1 MiB) and in a body stored inline in the
    index (1 KiB, up to 16 KiB are): the next GET is refetched, never served damaged."""
    node = run.node("flip", origin, "--memory-size", "1MiB").start()
    cases = [("a body file", "/big/7001", big_body(7001)), ("an inline body", "/obj/flip", small_body("/obj/flip"))]
    fill(node, [path for _, path, _ in cases], 1)
    wait_for(lambda: json.loads(node.admin("GET", "/stats")[1])["disk"]["objects"] >= 2)
    node.stop()
    files = [os.path.join(folder, name) for folder, _, names in os.walk(os.path.join(node.directory, "bodies"))
             for name in names if name.endswith(".body")]
    with open(files[0], "r+b") as body:
        body.seek(100)
        byte = body.read(1)
        body.seek(100)
        body.write(bytes([byte[0] ^ 0xFF]))
    index = sqlite3.connect(os.path.join(node.directory, "index.sqlite"))
    with index:
        for object_id, stored in index.execute("SELECT object_id, body FROM inline_bodies").fetchall():
            damaged = bytearray(stored)
            damaged[100] ^= 0xFF
            index.execute("UPDATE inline_bodies SET body = ? WHERE object_id = ?", (bytes(damaged), object_id))
    index.close()
    node.start()
    for name, path, expected in cases:
        before = len(origin.seen(path))
        status, cache_status, body = node.get(path)
        refetched = len(origin.seen(path)) - before
        stats = json.loads(node.admin("GET", "/stats")[1])
        run.record(f"a flipped byte in {name}",
                   status == 200 and body == expected and refetched == 1 and not is_hit(cache_status),
                   f"status {status}, body equals the origin's: {body == expected}, origin requests {refetched}, "
                   f"Cache-Status {cache_status!r}, damaged bodies counted {stats['disk'].get('corruptBodies')}")
    node.stop()


def check_purges(run, origin):
    node = run.node("purge", origin).start()
    base = f"http://127.0.0.1:{node.port}"
    # Purge by URL: two variants of a Vary'd URL.
    for language in ("en", "fr"):
        node.get("/vary/page", {"Accept-Language": language})
    hits_before = [is_hit(node.get("/vary/page", {"Accept-Language": lang})[1]) for lang in ("en", "fr")]
    status, text = node.admin("POST", "/purge", {"url": base + "/vary/page"})
    receipt = json.loads(text)
    before = len(origin.seen("/vary/page"))
    after = [node.get("/vary/page", {"Accept-Language": lang})[1] for lang in ("en", "fr")]
    refetched = len(origin.seen("/vary/page")) - before
    run.record("purge by URL removes both Vary variants",
               all(hits_before) and status == 200 and receipt["objects"] >= 1 and receipt["variants"] == 2
               and refetched == 2 and not any(is_hit(c) for c in after),
               f"receipt objects={receipt.get('objects')} variants={receipt.get('variants')}; next GETs {after}, "
               f"origin requests {refetched}")

    # Dry run of a tag purge through outpostctl, then the purge itself.
    for path in ("/tagged/1", "/tagged/2", "/plain/1"):
        node.get(path)
    env_token = ["--admin", f"http://127.0.0.1:{node.admin_port}", "--token", node.token]
    code, text, error = run.ctl("purge", "--tag", "t1", "--dry-run", "--json", *env_token)
    dry = json.loads(text) if code == 0 else {}
    still = [is_hit(node.get(path)[1]) for path in ("/tagged/1", "/tagged/2", "/plain/1")]
    run.record("outpostctl purge --tag t1 --dry-run --json",
               code == 0 and dry.get("objects") == 2 and dry.get("dryRun") is True and all(still),
               f"exit {code}, objects={dry.get('objects')} dryRun={dry.get('dryRun')}; afterwards all three still hits: {all(still)}")

    status, text = node.admin("POST", "/purge", {"tag": "t1"})
    receipt = json.loads(text)
    answers = {path: node.get(path)[1] for path in ("/tagged/1", "/tagged/2", "/plain/1")}
    run.record("purge by tag removes exactly the tagged objects",
               status == 200 and receipt["objects"] == 2 and not is_hit(answers["/tagged/1"])
               and not is_hit(answers["/tagged/2"]) and is_hit(answers["/plain/1"]),
               f"receipt objects={receipt.get('objects')}; afterwards {answers}")

    # Soft purge: the next fetch is conditional.
    node.get("/soft")
    status, text = node.admin("POST", "/purge", {"url": base + "/soft", "soft": True})
    before = len(origin.seen("/soft"))
    _, cache_status, body = node.get("/soft")
    fetches = origin.seen("/soft")[before:]
    conditional = len(fetches) == 1 and "if-none-match" in fetches[0][2]
    run.record("soft purge makes the next GET conditional",
               status == 200 and conditional and body == small_body("/soft"),
               f"origin saw {[sorted(k for k in f[2] if k.startswith('if-')) for f in fetches]}; Cache-Status {cache_status!r}")

    # Authentication and the public listener.
    unauthenticated, _ = node.admin("POST", "/purge", {"all": True}, token=False)
    wrong = http.client.HTTPConnection("127.0.0.1", node.admin_port, timeout=10)
    wrong.request("GET", "/stats", headers={"Authorization": "Bearer not-the-token-at-all"})
    wrong_status = wrong.getresponse().status
    public, _, _ = node.get("/obj/1", method="PURGE")
    run.record("no token → 401, wrong token → 401, PURGE on the public listener → 405",
               unauthenticated == 401 and wrong_status == 401 and public == 405,
               f"{unauthenticated}, {wrong_status}, {public}")
    node.stop()


def check_stats_and_metrics(run, origin):
    node = run.node("stats", origin).start()
    for path in ["/s/a", "/s/b", "/s/c", "/s/a", "/s/b", "/s/c", "/s/a", "/s/b", "/s/c", "/s/a"]:
        node.get(path)
    status, text = node.admin("GET", "/stats")
    ratio = json.loads(text)["ratios"]["requestHitRatio"]
    run.record("hit ratio after 3 misses and 7 hits", status == 200 and ratio == 0.7, f"requestHitRatio {ratio}")

    status, text = node.admin("GET", "/metrics")
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? '
                        r'[-+]?([0-9.]+([eE][-+]?[0-9]+)?|NaN|[-+]?Inf)( -?[0-9]+)?$')
    bad = [line for line in text.splitlines() if line and not line.startswith("#") and not sample.match(line)]
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    hits = sum(v for k, v in values.items() if k.startswith("outpost_hits_total"))
    # One family, labelled by reason (the Cache-Status detail token): the misses are its sum.
    misses = sum(v for k, v in values.items() if k.startswith("outpost_misses_total"))
    run.record("/metrics parses as Prometheus text with the hit and miss counters",
               status == 200 and not bad and hits == 7 and misses == 3,
               f"{len(values)} samples, {len(bad)} unparseable lines {bad[:2]}; outpost_hits_total {hits}, outpost_misses_total {misses}")
    node.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help="disk, admin, or both (the default)")
    parser.add_argument("--outpost", default=".build/release/outpost")
    parser.add_argument("--outpostctl", default=".build/release/outpostctl")
    parser.add_argument("--keep", action="store_true", help="keep the cache directories and logs")
    arguments = parser.parse_args()
    groups = arguments.groups or ["disk", "admin"]
    if any(group not in ("disk", "admin") for group in groups):
        parser.error("the groups are disk and admin")
    run = Run(arguments)
    origin = Origin()
    checks = {
        "disk": [check_restart, check_crash, check_disk_bound, check_larger_than_memory, check_offline_listing, check_flipped_byte],
        "admin": [check_purges, check_stats_and_metrics],
    }
    try:
        for group in groups:
            for check in checks[group]:
                try:
                    check(run, origin)
                except Exception as error:  # a check that cannot finish is a failure, with why
                    run.record(check.__name__, False, f"{type(error).__name__}: {error}")
    finally:
        for node in run.nodes:
            if node.process and node.process.poll() is None:
                node.stop(signal.SIGKILL)
        origin.stop()
        if arguments.keep:
            print(f"kept {run.root}")
        else:
            shutil.rmtree(run.root, ignore_errors=True)
    passed = sum(run.results)
    print(f"{passed} passed, {len(run.results) - passed} failed")
    return 0 if all(run.results) else 1


if __name__ == "__main__":
    sys.exit(main())
