// Small helpers for the raw node:http server: reading bodies and writing Salesforce-style replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SalesforceApiError } from './errors.ts';

/** What a handler answers; `body` undefined means no content. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** A body sent as is (with its own Content-Type header) instead of JSON. */
  readonly text?: string;
}

export const JSON_TYPE = 'application/json;charset=UTF-8';
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES)
      throw new SalesforceApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body, failing as Salesforce does on bad JSON. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SalesforceApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in request body: ${(err as Error).message}`,
      undefined,
      { cause: err },
    );
  }
}

export function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.text !== undefined) {
    headers['Content-Length'] = String(Buffer.byteLength(reply.text));
    res.writeHead(reply.status, headers).end(reply.text);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers).end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  headers['Content-Type'] = JSON_TYPE;
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers).end(payload);
}

/** A Salesforce error array reply. */
export function errorReply(err: SalesforceApiError): Reply {
  return { status: err.status, body: [err.toRest()] };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
