#!/usr/bin/env python3
"""Times `outpost serve` starting on a cache directory whose disk tier holds N objects.

    tools/checks/large-index.py [--objects 1000000] [--outpost .build/release/outpost]

The node first creates its own empty index (so the schema is exactly its own); then N rows and N
body files of 1 KiB are added in the disk tier's layout (bodies/ab/cd/<id>.body, CRC-32 as zlib
computes it). The node is started again on it, and the time from launch until it accepts
connections is reported, with its start-up lines; then the time until the background
reconciliation and memory warming log that they are done. (The rows' heads are placeholders,
so warming finds them unreadable and removes them: its time here is not a serving figure.)
Loopback only; the directory is removed at the end.
"""
import argparse, os, shutil, socket, sqlite3, subprocess, sys, tempfile, threading, time, zlib


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(outpost, directory, port):
    return subprocess.Popen([outpost, "serve", "--listen", f"127.0.0.1:{port}", "--origin", "http://127.0.0.1:9",
                             "--cache-dir", directory, "--disk-size", "64GiB", "--threads", "1", "--log-level", "info"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_listening(port, process, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"outpost exited with {process.returncode}: {process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return
        except OSError:
            time.sleep(0.01)
    raise SystemExit("outpost did not start listening")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--outpost", default=".build/release/outpost")
    arguments = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="outpost-large-index-")
    try:
        port = free_port()
        node = start(arguments.outpost, directory, port)
        wait_listening(port, node)
        node.terminate()
        node.wait(30)

        began = time.time()
        body = os.urandom(1024)
        checksum = zlib.crc32(body)
        now = time.time()
        head = b'{"version":1}'
        database = sqlite3.connect(os.path.join(directory, "index.sqlite"))
        database.execute("PRAGMA journal_mode=WAL")
        rows = []
        for number in range(1, arguments.objects + 1):
            relative = f"{number % 256:02x}/{(number // 256) % 256:02x}/{number}.body"
            path = os.path.join(directory, "bodies", relative)
            if number < 65_537:
                os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as target:
                target.write(body)
            url = f"http://bench.example/object/{number}"
            rows.append((number, f"GET {url}", "", url, "bench.example", 200, head, 1024, checksum, relative, now, now, now))
            if len(rows) == 50_000:
                database.executemany("""INSERT INTO objects (id, key, variant_key, url, host, status, head, body_length,
                    checksum, body_path, stored_at, response_time, last_access) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
                rows = []
        if rows:
            database.executemany("""INSERT INTO objects (id, key, variant_key, url, host, status, head, body_length,
                checksum, body_path, stored_at, response_time, last_access) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
        database.commit()
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        database.close()
        print(f"built {arguments.objects} objects in {time.time() - began:.1f} s", file=sys.stderr)

        os.system("sync")
        launched = time.time()
        node = start(arguments.outpost, directory, port)
        lines = []  # (seconds since launch, line)
        reader = threading.Thread(target=lambda: [lines.append((time.time() - launched, line)) for line in node.stdout])
        reader.start()
        wait_listening(port, node)
        elapsed = time.time() - launched
        deadline = time.time() + 600
        done = ["disk cache reconciled", "memory warmed from disk"]
        while not all(any(marker in line for _, line in lines) for marker in done) and time.time() < deadline:
            time.sleep(0.1)
        node.terminate()
        node.wait(60)
        reader.join(10)
        print(f"start-up on {arguments.objects} objects: listening after {elapsed:.2f} s")
        for marker in ["disk cache index open", "disk tier open", "disk cache reconciled", "memory warmed from disk"]:
            found = next(((at, line) for at, line in lines if marker in line), None)
            print(f"  at {found[0]:.2f} s: {found[1].strip()[:400]}" if found else f"  (no '{marker}' line)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
