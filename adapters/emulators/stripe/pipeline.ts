import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiRequest, ApiServices } from './api-context.ts';
import { authenticate } from './auth.ts';
import { invalidRequest, StripeApiError, unrecognizedUrl } from './errors.ts';
import type { StripeErrorBody } from './errors.ts';
import type { Faults } from './faults.ts';
import { parseForm } from './form.ts';
import type { IdempotencyStore, SavedResponse } from './idempotency.ts';
import { randomString } from './ids.ts';
import type { RequestLog } from './request-log.ts';
import { findRoute } from './routes.ts';

/** A request as read off the socket. */
export interface IncomingRequest {
  method: string;
  path: string;
  query: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: string;
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface PipelineDeps {
  services: ApiServices;
  faults: Faults;
  idempotency: IdempotencyStore;
  log: RequestLog;
  defaultApiVersion: string;
  /** Called after any request that may have changed state (debounced persistence). */
  changed: () => void;
}

function header(req: IncomingRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A reply before serialisation: saved answers keep the object, which events already share. */
interface Outgoing {
  status: number;
  headers: Record<string, string>;
  payload: unknown;
}

function errorReply(error: StripeApiError): Outgoing {
  return { status: error.status, headers: { ...error.headers }, payload: { error: error.body } };
}

function faultError(
  status: number,
  body: StripeErrorBody,
  headers: Record<string, string>,
): StripeApiError {
  return new StripeApiError(status, body, headers);
}

const KEYED_MISMATCH: StripeErrorBody = {
  type: 'idempotency_error',
  message:
    'Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than the one used on the original request.',
};
const KEY_IN_USE: StripeErrorBody = {
  type: 'invalid_request_error',
  code: 'idempotency_key_in_use',
  message:
    'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through). Please try again later.',
};

/** Stripe's request semantics: auth, rate limit, faults, idempotency, routing, handler. */
export class ApiPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async handle(req: IncomingRequest): Promise<Reply> {
    const requestId = `req_${randomString(14)}`;
    const key = req.method === 'POST' ? (header(req, 'idempotency-key') ?? null) : null;
    const base: Record<string, string> = {
      'Request-Id': requestId,
      'Stripe-Version': header(req, 'stripe-version') ?? this.deps.defaultApiVersion,
      'Content-Type': 'application/json',
    };
    const echoed = header(req, 'idempotency-key');
    if (echoed !== undefined) base['Idempotency-Key'] = echoed;
    const outcome = await this.run(req, requestId, key, base['Stripe-Version']!);
    this.deps.log.add({
      requestId,
      method: req.method,
      path: req.path,
      status: outcome.reply.status,
      idempotencyKey: key,
      replayed: outcome.replayed,
      fault: outcome.fault,
      at: this.deps.services.clock.nowMs(),
    });
    if (req.method !== 'GET') this.deps.changed();
    const { status, headers, payload } = outcome.reply;
    return { status, headers: { ...base, ...headers }, body: JSON.stringify(payload) };
  }

  private async run(
    req: IncomingRequest,
    requestId: string,
    key: string | null,
    apiVersion: string,
  ): Promise<{ replayed: boolean; fault: boolean; reply: Outgoing }> {
    const result = { replayed: false, fault: false };
    let reserved = false;
    try {
      const { livemode } = authenticate(header(req, 'authorization'));
      if (this.deps.faults.overRateLimit(Date.now())) {
        throw new StripeApiError(429, {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message:
            'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
        });
      }
      const params = parseForm(req.method === 'POST' ? req.body : req.query);
      const route = findRoute(req.method, req.path);
      if (!route) throw unrecognizedUrl(req.method, req.path);
      if (key !== null) {
        if (key.length > 255)
          throw invalidRequest(
            'Idempotency keys must be at most 255 characters long.',
            'Idempotency-Key',
          );
        const lookup = this.deps.idempotency.begin(key, `${req.method} ${req.path}\n${req.body}`);
        if (lookup.kind === 'replay')
          return { ...result, replayed: true, reply: replay(lookup.response) };
        if (lookup.kind === 'in-flight') throw new StripeApiError(409, KEY_IN_USE);
        if (lookup.kind === 'mismatch') throw new StripeApiError(400, KEYED_MISMATCH);
        reserved = true;
      }
      const delay = this.deps.faults.takeDelay(req.method, req.path);
      if (delay > 0) await sleep(delay);
      const fault = this.deps.faults.takeFault(req.method, req.path);
      result.fault = fault !== undefined;
      if (fault?.phase === 'before') throw faultError(fault.status, fault.body, fault.headers);
      const apiReq: ApiRequest = {
        requestId,
        idempotencyKey: key,
        apiVersion,
        livemode,
        params,
        now: this.deps.services.clock.nowSeconds(),
      };
      const reply = this.invoke(route.handler, apiReq, route.ids);
      const final = fault ? errorReply(faultError(fault.status, fault.body, fault.headers)) : reply;
      if (reserved && (fault || reply.status === 200 || reply.committed))
        this.save(key!, final, requestId);
      reserved = false;
      return { ...result, reply: final };
    } catch (error) {
      const apiError = error instanceof StripeApiError ? error : internalError(error);
      return { ...result, reply: errorReply(apiError) };
    } finally {
      if (reserved) this.deps.idempotency.release(key!);
    }
  }

  /** Runs a handler; a committed error (declined payment) still counts as executed. */
  private invoke(
    handler: (r: ApiRequest, s: ApiServices, ids: readonly string[]) => object,
    req: ApiRequest,
    ids: string[],
  ) {
    try {
      return {
        status: 200,
        headers: {},
        payload: handler(req, this.deps.services, ids),
        committed: false,
      };
    } catch (error) {
      if (error instanceof StripeApiError && error.committed)
        return { ...errorReply(error), committed: true };
      throw error;
    }
  }

  private save(key: string, reply: Outgoing, requestId: string): void {
    const saved: SavedResponse = {
      status: reply.status,
      payload: reply.payload,
      headers: reply.headers,
      requestId,
    };
    this.deps.idempotency.save(key, saved);
  }
}

function replay(saved: SavedResponse): Outgoing {
  return {
    status: saved.status,
    payload: saved.payload,
    headers: {
      ...saved.headers,
      'Idempotent-Replayed': 'true',
      'Original-Request': saved.requestId,
    },
  };
}

function internalError(error: unknown): StripeApiError {
  // The client sees Stripe's generic 500; the cause goes to stderr for whoever runs the emulator.
  console.error('stripe emulator: unexpected error', error);
  return new StripeApiError(500, {
    type: 'api_error',
    message: 'An unknown error occurred while processing your request.',
  });
}
