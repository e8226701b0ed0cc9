import type { Clock } from './clock.ts';
import type { DelayRule, FaultRule, Faults } from './faults.ts';
import type { IdempotencyStore } from './idempotency.ts';
import type { RequestFilter, RequestLog, RequestRecord, RequestsAfter } from './request-log.ts';
import type { EmulatorState } from './state.ts';
import type { DeliveryAttempt, WebhookBehaviour, WebhookDispatcher } from './webhook-dispatcher.ts';

export interface FlushResult {
  delivered: number;
  failed: number;
  pending: number;
}

export interface EmulatorStats {
  customers: number;
  invoices: number;
  invoiceItems: number;
  events: number;
  idempotencyKeys: number;
  webhooksPending: number;
  webhooksDelivered: number;
  webhooksFailed: number;
}

/** The fault and test controls, the same in process and over `/_emulator/...`. */
export interface StripeEmulatorControl {
  /** Clears every object, event, key, fault and log; endpoints given at start are registered again. */
  reset(): void;
  failNext(rule: FaultRule): void;
  delayRequests(rule: DelayRule): void;
  /** Answers 429 rate_limit above this many requests per second; null lifts the budget. */
  setRateLimit(requestsPerSecond: number | null): void;
  clearFaults(): void;
  setClockOffset(offsetMs: number): void;
  setSearchLag(ms: number): void;
  requests(filter?: RequestFilter): RequestRecord[];
  /** The requests answered after the one named (see `RequestLog.after`). */
  requestsAfter(requestId: string, filter?: RequestFilter): RequestsAfter;
  clearRequests(): void;
  /** Registers an endpoint for every event type unless `enabledEvents` says otherwise; returns its `whsec_` secret. */
  registerWebhookEndpoint(url: string, secret?: string, enabledEvents?: string[]): string;
  configureWebhooks(behaviour: Partial<WebhookBehaviour>): void;
  pauseWebhooks(): void;
  resumeWebhooks(): void;
  /** Gives up on every pending delivery, retries included, as Stripe does after its last retry; returns how many. */
  dropWebhooks(): number;
  flushWebhooks(timeoutMs?: number): Promise<FlushResult>;
  webhookAttempts(): DeliveryAttempt[];
  stats(): EmulatorStats;
}

export interface ControlDeps {
  state: EmulatorState;
  clock: Clock;
  faults: Faults;
  idempotency: IdempotencyStore;
  log: RequestLog;
  dispatcher: WebhookDispatcher;
  register: (
    url: string,
    secret: string | undefined,
    enabledEvents: string[],
  ) => { secret: string };
  registerInitial: () => void;
  changed: () => void;
}

export function createControl(d: ControlDeps): StripeEmulatorControl {
  return {
    reset() {
      d.dispatcher.clear();
      d.state.clear();
      d.idempotency.clear();
      d.faults.clear();
      d.log.clear();
      d.clock.offsetMs = 0;
      Object.assign(d.dispatcher.behaviour, { duplicate: false, delayMs: 0, reorderWindow: 0 });
      d.dispatcher.paused = false;
      d.registerInitial();
      d.changed();
    },
    failNext: (rule) => d.faults.addFault(rule),
    delayRequests: (rule) => d.faults.addDelay(rule),
    setRateLimit: (rps) => d.faults.setRateLimit(rps),
    clearFaults: () => d.faults.clear(),
    setClockOffset(offsetMs) {
      d.clock.offsetMs = offsetMs;
    },
    setSearchLag(ms) {
      d.state.search.lagMs = ms;
    },
    requests: (filter) => d.log.list(filter),
    requestsAfter: (requestId, filter) => d.log.after(requestId, filter),
    clearRequests: () => d.log.clear(),
    registerWebhookEndpoint(url, secret, enabledEvents = ['*']) {
      const { secret: used } = d.register(url, secret, enabledEvents);
      d.changed();
      return used;
    },
    configureWebhooks(behaviour) {
      Object.assign(d.dispatcher.behaviour, behaviour);
    },
    pauseWebhooks() {
      d.dispatcher.paused = true;
    },
    resumeWebhooks: () => d.dispatcher.resume(),
    dropWebhooks: () => d.dispatcher.drop(),
    async flushWebhooks(timeoutMs) {
      await d.dispatcher.flush(timeoutMs);
      return {
        delivered: d.dispatcher.delivered,
        failed: d.dispatcher.failed,
        pending: d.dispatcher.pending(),
      };
    },
    webhookAttempts: () => d.dispatcher.list(),
    stats: () => ({
      customers: d.state.customers.size,
      invoices: d.state.invoices.size,
      invoiceItems: d.state.invoiceItems.size,
      events: d.state.events.size,
      idempotencyKeys: d.idempotency.size,
      webhooksPending: d.dispatcher.pending(),
      webhooksDelivered: d.dispatcher.delivered,
      webhooksFailed: d.dispatcher.failed,
    }),
  };
}
