import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingRequest, Reply } from './pipeline.ts';

const MAX_BODY_BYTES = 1 << 20;

export type RequestHandler = (req: IncomingRequest) => Promise<Reply>;

function readBody(req: http.IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

async function serve(
  handler: RequestHandler,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const body = await readBody(req);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let reply: Reply;
  if (body === null) {
    reply = {
      status: 413,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        error: { type: 'invalid_request_error', message: 'Request body too large.' },
      }),
    };
  } else {
    reply = await handler({
      method: req.method ?? 'GET',
      path: q === -1 ? url : url.slice(0, q),
      query: q === -1 ? '' : url.slice(q + 1),
      headers: req.headers,
      body,
    });
  }
  res.writeHead(reply.status, {
    ...reply.headers,
    'Content-Length': Buffer.byteLength(reply.body),
  });
  res.end(reply.body);
}

/** A plain node:http server (a framework would cost more per request than the whole handler). */
export async function listen(
  handler: RequestHandler,
  host: string,
  port: number,
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    serve(handler, req, res).catch((error: unknown) => {
      console.error('stripe emulator: request failed', error);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({ error: { type: 'api_error', message: 'An unknown error occurred.' } }),
      );
    });
  });
  // Clients keep connections for a while; closing them first would cost reconnects mid-run.
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 31_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
