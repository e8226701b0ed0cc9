// A recording proxy in front of the Stripe emulator: rtws talks to it as its Stripe, and a test
// reads every request back with its query and form body, and when Stripe answered it.
import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request rtws made to Stripe, as the proxy saw it answered. */
export interface TappedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** The form body of a POST. */
  readonly form: URLSearchParams;
  readonly status: number;
  /** When Stripe's answer came back (Date.now()): the change is visible there from then on. */
  readonly at: number;
}

/** What a request is, before its answer. */
export type RequestLine = Pick<TappedRequest, 'method' | 'path' | 'query'>;

export interface StripeTap {
  /** What rtws uses as STRIPE_API_BASE. */
  readonly url: string;
  requests(): readonly TappedRequest[];
  /**
   * Holds the requests `when` picks for `ms` before passing them on: unlike the emulator's own
   * delays, it can tell requests of one path apart by their query.
   */
  hold(when: (r: RequestLine) => boolean, ms: number): void;
  close(): Promise<void>;
}

/**
 * A proxy that records every request with its query and body. The emulator's own log keeps the
 * path only, and its last 5,000 entries: too little for a walk's `starting_after` or a long run.
 */
export async function stripeTap(upstream: string): Promise<StripeTap> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const seen: TappedRequest[] = [];
  const holds: { when: (r: RequestLine) => boolean; ms: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', upstream);
      const line = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams };
      const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
      const forward = () => {
        const up = request(
          {
            host: target.hostname,
            port: target.port,
            method: req.method,
            path: req.url,
            headers,
            agent,
          },
          (answer) => {
            seen.push({
              ...line,
              form: new URLSearchParams(req.method === 'POST' ? body.toString() : ''),
              status: answer.statusCode ?? 0,
              at: Date.now(),
            });
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        up.on('error', () => res.writeHead(502).end());
        up.end(body);
      };
      setTimeout(forward, holds.find((h) => h.when(line))?.ms ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => seen,
    hold: (when, ms) => holds.push({ when, ms }),
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      agent.destroy();
    },
  };
}

/** `GET /v1/customers` as the walk lists it: not a lookup by email. */
export const isListPage = (r: RequestLine): boolean =>
  r.method === 'GET' && r.path === '/v1/customers' && !r.query.has('email');

/** `POST /v1/customers`: a Stripe customer created. */
export const isCreate = (r: RequestLine): boolean =>
  r.method === 'POST' && r.path === '/v1/customers';
