# Python's http.client driving a sequence of requests over one keep-alive HTTPConnection.
#
# Usage: python3 http-client-sequence.py <port> '<steps as JSON>'
# Each step is {method, path, headers, body, chunked}. Prints one JSON line per step:
# {status, headers, body, elapsed, localPort, newConnection, error}. Bodies are ASCII in these
# tests and are printed as Latin-1 text. A step that fails or takes longer than the step timeout
# is reported with `error`; the connection is then dropped and the sequence goes on (the next
# step opens a new connection, which its `newConnection` shows).
import http.client
import json
import sys
import time

STEP_TIMEOUT = 3.0

port = int(sys.argv[1])
steps = json.loads(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=STEP_TIMEOUT)


def request_body(step):
    body = step.get("body")
    if body is None:
        return None
    data = body.encode("latin-1")
    if step.get("chunked"):
        # An iterable with encode_chunked=True goes out with Transfer-Encoding: chunked.
        return iter([data[:4], data[4:]])
    return data


for step in steps:
    line = {"status": None, "headers": {}, "body": "", "elapsed": 0.0,
            "localPort": None, "newConnection": None, "error": None}
    socket_before = connection.sock
    started = time.monotonic()
    try:
        headers = dict(step.get("headers") or {})
        chunked = bool(step.get("chunked")) and step.get("body") is not None
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        connection.request(step["method"], step["path"], body=request_body(step), headers=headers,
                           encode_chunked=chunked)
        line["newConnection"] = connection.sock is not socket_before
        line["localPort"] = connection.sock.getsockname()[1]
        response = connection.getresponse()
        line["status"] = response.status
        for name, value in response.getheaders():
            name = name.lower()
            line["headers"][name] = line["headers"][name] + ", " + value if name in line["headers"] else value
        line["body"] = response.read().decode("latin-1")
    except Exception as error:  # report and go on: the Swift test decides what a failure means
        line["error"] = f"{type(error).__name__}: {error}"
        connection.close()
    line["elapsed"] = time.monotonic() - started
    print(json.dumps(line), flush=True)

connection.close()
