// Node's built-in fetch (undici) driving a sequence of requests against one origin, as a browser
// would: fetch keeps its connection alive and reuses it for the next request, except where undici
// itself closes it: after a HEAD (mcollina/undici#258), and after a body on a method other than
// POST, PUT and PATCH (e.g. DELETE with a body). The request after those opens a new connection.
//
// Usage: node fetch-sequence.mjs <base-url> '<steps as JSON>'
// Each step is {method, path, headers, body, chunked}. Prints one JSON line per step:
// {status, headers, body, elapsed, localPort, newConnection, error}. Bodies are ASCII in these
// tests and are printed as Latin-1 text. A step that fails or takes longer than the step timeout
// is reported with `error` and the sequence goes on.
import diagnosticsChannel from 'node:diagnostics_channel';

const stepTimeout = 3000;
const [base, stepsText] = process.argv.slice(2);
const steps = JSON.parse(stepsText);

// undici announces each new connection and which socket each request goes out on.
let connections = 0;
let localPort = null;
diagnosticsChannel.subscribe('undici:client:connected', () => { connections += 1; });
diagnosticsChannel.subscribe('undici:client:sendHeaders', ({ socket }) => { localPort = socket.localPort; });

function requestBody(step) {
  if (step.body === undefined || step.body === null) return undefined;
  if (!step.chunked) return step.body;
  // A stream of unknown length goes out with Transfer-Encoding: chunked.
  const bytes = new TextEncoder().encode(step.body);
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.slice(0, 4));
      controller.enqueue(bytes.slice(4));
      controller.close();
    },
  });
}

for (const step of steps) {
  const connectionsBefore = connections;
  localPort = null;
  const started = performance.now();
  const line = { status: null, headers: {}, body: '', elapsed: 0, localPort: null, newConnection: null, error: null };
  try {
    const response = await fetch(base + step.path, {
      method: step.method,
      headers: step.headers ?? {},
      body: requestBody(step),
      duplex: 'half',
      // With the default cache mode, fetch adds `Cache-Control: no-cache` and `Pragma: no-cache`
      // to any request carrying a validator (Fetch Standard, HTTP-network-or-cache fetch); a browser
      // revalidating its own cache entry sends the validator alone. 'force-cache' keeps the
      // request as given, and changes nothing else: Node's fetch has no HTTP cache.
      cache: 'force-cache',
      signal: AbortSignal.timeout(stepTimeout),
    });
    line.status = response.status;
    for (const [name, value] of response.headers) line.headers[name] = value;
    line.body = Buffer.from(await response.arrayBuffer()).toString('latin1');
  } catch (error) {
    line.error = `${error.name}: ${error.message}${error.cause ? ` (${error.cause.code ?? error.cause.message})` : ''}`;
  }
  line.elapsed = (performance.now() - started) / 1000;
  line.localPort = localPort;
  line.newConnection = connections > connectionsBefore;
  console.log(JSON.stringify(line));
  // undici returns a connection to its pool a turn of the event loop after the body ends; a
  // fetch issued at once would open a second connection, which no browser pacing would do.
  await new Promise((resolve) => setTimeout(resolve, 0));
}
