import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { StripeEmulatorControl } from './control.ts';
import {
  ClockSchema,
  DelayRuleSchema,
  EndpointSchema,
  FaultRuleSchema,
  FlushSchema,
  RateLimitSchema,
  SearchLagSchema,
  WebhookConfigSchema,
} from './control-schemas.ts';
import type { Reply } from './pipeline.ts';

export class ControlRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ControlRequestError';
  }
}

function parse<T extends TSchema>(schema: T, body: string): Static<T> {
  let value: unknown;
  try {
    value = body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    throw new ControlRequestError('body is not JSON');
  }
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new ControlRequestError(
      `invalid body${first ? ` at ${first.path || '/'}: ${first.message}` : ''}`,
    );
  }
  return value;
}

type ControlHandler = (c: StripeEmulatorControl, body: string, query: URLSearchParams) => unknown;

const OK = { ok: true };
const handlers: Record<string, ControlHandler> = {
  'GET /_emulator/health': (c) => ({ ok: true, stats: c.stats() }),
  'POST /_emulator/reset': (c) => (c.reset(), OK),
  'POST /_emulator/faults': (c, b) => (c.failNext(parse(FaultRuleSchema, b)), OK),
  'DELETE /_emulator/faults': (c) => (c.clearFaults(), OK),
  'POST /_emulator/delays': (c, b) => (c.delayRequests(parse(DelayRuleSchema, b)), OK),
  'POST /_emulator/rate-limit': (c, b) => (c.setRateLimit(parse(RateLimitSchema, b).rps), OK),
  'POST /_emulator/clock': (c, b) => (c.setClockOffset(parse(ClockSchema, b).offsetMs), OK),
  'POST /_emulator/search-lag': (c, b) => (c.setSearchLag(parse(SearchLagSchema, b).ms), OK),
  'GET /_emulator/requests': (c, _b, q) => {
    const filter = { method: q.get('method') ?? undefined, path: q.get('path') ?? undefined };
    const after = q.get('after');
    return after === null ? { data: c.requests(filter) } : c.requestsAfter(after, filter);
  },
  'DELETE /_emulator/requests': (c) => (c.clearRequests(), OK),
  'POST /_emulator/webhooks/endpoints': (c, b) => {
    const body = parse(EndpointSchema, b);
    return { secret: c.registerWebhookEndpoint(body.url, body.secret, body.enabledEvents) };
  },
  'POST /_emulator/webhooks/config': (c, b) => (
    c.configureWebhooks(parse(WebhookConfigSchema, b)),
    OK
  ),
  'POST /_emulator/webhooks/pause': (c) => (c.pauseWebhooks(), OK),
  'POST /_emulator/webhooks/resume': (c) => (c.resumeWebhooks(), OK),
  'POST /_emulator/webhooks/drop': (c) => ({ ok: true, dropped: c.dropWebhooks() }),
  'POST /_emulator/webhooks/flush': (c, b) => c.flushWebhooks(parse(FlushSchema, b).timeoutMs),
  'GET /_emulator/webhooks/attempts': (c) => ({ data: c.webhookAttempts() }),
};

/** The `/_emulator/...` control endpoints: JSON in, JSON out. */
export async function handleControl(
  control: StripeEmulatorControl,
  method: string,
  path: string,
  query: string,
  body: string,
): Promise<Reply> {
  const headers = { 'Content-Type': 'application/json' };
  const handler = handlers[`${method} ${path}`];
  if (!handler)
    return {
      status: 404,
      headers,
      body: JSON.stringify({ error: `no control endpoint ${method} ${path}` }),
    };
  try {
    const result = await handler(control, body, new URLSearchParams(query));
    return { status: 200, headers, body: JSON.stringify(result) };
  } catch (error) {
    if (error instanceof ControlRequestError)
      return { status: error.status, headers, body: JSON.stringify({ error: error.message }) };
    throw error;
  }
}
