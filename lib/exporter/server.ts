/**
 * The exporter's HTTP server (node:http, the same in Bun, Deno and Node): `/metrics` in the Prometheus text format
 * or OpenMetrics (by the Accept header), `/` a short HTML page linking to it, nothing else. Only GET and HEAD are
 * answered (405 otherwise); anything else is 404. Nothing a request says is used as a path, and no request changes
 * state beyond counting scrapes.
 *
 * Malformed requests are answered by the runtime's HTTP parser through `clientError`: 431 for headers over
 * {@link MAX_HEADER_BYTES}, 400 for the rest; the connection is closed and the server keeps serving.
 * @module
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { PYMEM_VERSION } from "../core/version.ts";
import { CONTENT_TYPE, encode, negotiate } from "./metrics.ts";
import type { Scraper } from "./scrape.ts";

/** Largest request head accepted (Node's default is 16 KiB; a scrape request is a few hundred bytes). */
export const MAX_HEADER_BYTES = 8192;

/** How long a connection may take to send a request's headers. */
const HEADERS_TIMEOUT_MS = 10_000;

/**
 * How long one connection may stay open, answered or not. A scrape in progress is let finish (its own deadline
 * bounds it), then the connection is closed: Prometheus simply opens another one for its next scrape.
 */
const CONNECTION_MS = 30_000;

/** After the last answer on a connection that is being closed: time for the client to read it before the reset. */
const LINGER_MS = 1_000;

/**
 * Kept below the scraper's timeout so the answer arrives before it gives up: at least SCRAPE_MARGIN_S, and
 * SCRAPE_MARGIN_SHARE of the timeout when that is more. After the deadline come the metric families, the encoding
 * and the write, each a wake-up of a process that competes for the CPU: on a 2-core host kept busy by two CPU
 * burners, 50 targets, Prometheus saw answers up to 0.22 s after the exporter's deadline
 * (tests/exporter_soak_test.ts), so the margin is twice that.
 */
export const SCRAPE_MARGIN_S = 0.5;
export const SCRAPE_MARGIN_SHARE = 0.1;

/**
 * The most a request's `X-Prometheus-Scrape-Timeout-Seconds` may ask for: Prometheus's scrape_timeout is at most its
 * scrape_interval, and a request is not trusted to hold the workers for longer (a larger value, as 3e6 or 1e308,
 * overflowed the timer, which then fired at once: every target a timeout, every worker killed).
 */
export const MAX_SCRAPE_SECONDS = 3600;

/** The scrape budget in seconds a request's header asks for: NaN, ≤ 0, or not a number is no budget (Infinity). */
export function askedScrapeSeconds(header: string | string[] | undefined): number {
  const asked = typeof header === "string" && header.trim() !== "" ? Number(header) : NaN;
  if (!(asked > 0)) return Infinity;
  const margin = Math.max(SCRAPE_MARGIN_S, SCRAPE_MARGIN_SHARE * Math.min(asked, MAX_SCRAPE_SECONDS));
  return Math.min(MAX_SCRAPE_SECONDS, Math.max(0.1, asked - margin));
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pymem exporter</title></head>
<body><h1>pymem exporter</h1>
<p>obmalloc heap metrics of the CPython processes on this host, read-only (pymem ${PYMEM_VERSION}).</p>
<p><a href="metrics">/metrics</a></p>
</body></html>
`;

/** Parse `--listen`: `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces). Port 0 picks a free one. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new RangeError(`--listen needs HOST:PORT, [IPV6]:PORT or :PORT, got "${value}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`--listen: port ${port} is out of range`);
  const host = m[1] ?? m[2];
  return { host: host === "" ? "0.0.0.0" : host, port };
}

export interface ExporterServer {
  /** The bound address, e.g. "127.0.0.1:9464" (the real port when 0 was asked for). */
  address: string;
  url: string;
  close(): Promise<void>;
}

/**
 * Serve `scraper`'s metrics on `host:port`. The scrape's deadline is Prometheus's own
 * (`X-Prometheus-Scrape-Timeout-Seconds`) less a margin, at most {@link MAX_SCRAPE_SECONDS} and `maxScrapeSeconds`.
 */
export async function serve(
  scraper: Scraper,
  listen: { host: string; port: number },
  options: {
    maxScrapeSeconds?: number;
    log?: (line: string) => void;
    /** @internal tests: the total deadline of one connection. */
    connectionMs?: number;
  } = {},
): Promise<ExporterServer> {
  const log = options.log ?? (() => {});
  const connectionMs = options.connectionMs ?? CONNECTION_MS;
  // Connections that have sent a whole request's headers (the others are destroyed after HEADERS_TIMEOUT_MS).
  const answered = new WeakSet<Socket>();
  // Connections with an answer in progress, and those to close once it is sent (past their deadline).
  const busy = new WeakSet<Socket>();
  const closing = new WeakSet<Socket>();
  /** End the connection (FIN), and reset it a moment later whatever the client does. */
  const finish = (socket: Socket) => {
    if (socket.destroyed) return;
    socket.end();
    setTimeout(() => socket.destroy(), LINGER_MS).unref?.();
  };
  const server = http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    const socket = req.socket;
    answered.add(socket);
    busy.add(socket);
    // A request body is never read (only GET and HEAD are served): a client that sends one, perhaps a byte at a
    // time, is answered and then disconnected rather than kept while it trickles. (Whether it has arrived whole is
    // not asked: Bun's req.complete stays false for a body nobody reads.)
    const bodied = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    res.once("finish", () => {
      busy.delete(socket);
      if (bodied || closing.has(socket)) finish(socket);
    });
    const reply = (status: number, type: string, body: string, extra: Record<string, string> = {}) => {
      const close = bodied || closing.has(socket) ? { connection: "close" } : {};
      res.writeHead(status, {
        "content-type": type,
        "content-length": String(Buffer.byteLength(body)),
        "x-content-type-options": "nosniff",
        ...close,
        ...extra,
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      const allow = { allow: "GET, HEAD", connection: "close" };
      reply(405, "text/plain; charset=utf-8", "405 method not allowed: only GET and HEAD\n", allow);
      return;
    }
    const path = (req.url ?? "").split("?")[0];
    if (path === "/") {
      reply(200, "text/html; charset=utf-8", PAGE);
      return;
    }
    if (path !== "/metrics") {
      reply(404, "text/plain; charset=utf-8", "404 not found: see /metrics\n");
      return;
    }
    const t0 = performance.now();
    const format = negotiate(req.headers.accept);
    const asked = askedScrapeSeconds(req.headers["x-prometheus-scrape-timeout-seconds"]);
    const budget = Math.min(options.maxScrapeSeconds ?? Infinity, asked);
    scraper.scrape(Number.isFinite(budget) ? budget * 1000 : undefined, t0).then(
      (set) => reply(200, CONTENT_TYPE[format], encode(set, format)),
      (e: Error) => {
        log(`scrape failed: ${e.message}`);
        reply(500, "text/plain; charset=utf-8", `500 scrape failed: ${e.message}\n`);
      },
    );
  });
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  // Slow or idle clients do not hold sockets for long. A connection that has not completed a request's headers
  // within HEADERS_TIMEOUT_MS is destroyed here: Node and Deno enforce headersTimeout only on a periodic check, and
  // until then such sockets count against maxConnections, so a few hundred idle ones locked every scraper out.
  // Every connection also has a total deadline, answered or not: one that keeps asking, or trickles anything the
  // timeouts above do not cover, holds its slot for at most connectionMs.
  server.on("connection", (socket: Socket) => {
    const timer = setTimeout(() => {
      if (!answered.has(socket)) socket.destroy();
    }, HEADERS_TIMEOUT_MS);
    timer.unref?.();
    let last: ReturnType<typeof setTimeout> | undefined;
    const total = setTimeout(() => {
      if (!busy.has(socket)) return finish(socket);
      closing.add(socket);
      // An answer still not sent a whole deadline later has a client that does not read it: no more waiting.
      last = setTimeout(() => socket.destroy(), connectionMs);
      last.unref?.();
    }, connectionMs);
    total.unref?.();
    socket.once("close", () => (clearTimeout(timer), clearTimeout(total), clearTimeout(last)));
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxConnections = 256;
  await new Promise<void>((ready, fail) => {
    server.once("error", fail);
    server.listen(listen.port, listen.host, () => {
      server.off("error", fail);
      ready();
    });
  });
  const a = server.address() as AddressInfo;
  const address = a.family === "IPv6" || a.address.includes(":")
    ? `[${a.address}]:${a.port}`
    : `${a.address}:${a.port}`;
  return {
    address,
    url: `http://${address}/metrics`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
