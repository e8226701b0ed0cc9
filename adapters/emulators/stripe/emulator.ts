import { newAccount } from './account-object.ts';
import type { EventCause } from './events.ts';
import { ApiPipeline } from './pipeline.ts';
import { Clock } from './clock.ts';
import { createControl } from './control.ts';
import type { StripeEmulatorControl } from './control.ts';
import { handleControl } from './control-routes.ts';
import { eventEmitter } from './event-bus.ts';
import { Faults } from './faults.ts';
import { IdempotencyStore } from './idempotency.ts';
import { newId, newWebhookSecret } from './ids.ts';
import { closeServer, listen } from './http-server.ts';
import { resolveOptions } from './options.ts';
import type { StripeEmulatorOptions } from './options.ts';
import { restoreSnapshot, SnapshotWriter, stateFile, takeSnapshot } from './persistence.ts';
import { RequestLog } from './request-log.ts';
import { EmulatorState } from './state.ts';
import { WebhookDispatcher } from './webhook-dispatcher.ts';
import { renderEndpoint } from './webhook-endpoint.ts';
import type { WebhookEndpointRecord } from './webhook-endpoint.ts';

/** A running emulator: the API at `url` (no `/v1`), and the controls in process. */
export interface StripeEmulator extends StripeEmulatorControl {
  readonly url: string;
  readonly port: number;
  /** What `GET /v1/account` answers: fixed for a data dir, kept by `reset()`. */
  readonly accountId: string;
  /** Stops the server, pending webhook timers and persistence (after a final write). */
  close(): Promise<void>;
}

export async function startStripeEmulator(
  options?: StripeEmulatorOptions,
): Promise<StripeEmulator> {
  const opts = resolveOptions(options);
  const clock = new Clock();
  const state = new EmulatorState(clock, opts.searchLagMs);
  const idempotency = new IdempotencyStore(clock, opts.idempotencyTtlMs, opts.maxIdempotencyKeys);
  const faults = new Faults();
  const log = new RequestLog();
  const dispatcher = new WebhookDispatcher(clock, {
    retryScheduleMs: opts.webhookRetryScheduleMs,
    concurrencyPerEndpoint: opts.webhookConcurrency,
    timeoutMs: opts.webhookTimeoutMs,
  });
  const saved =
    opts.dataDir === undefined
      ? undefined
      : restoreSnapshot(stateFile(opts.dataDir), state, idempotency);
  if (opts.accountId !== undefined && opts.accountId !== state.account.id)
    state.account = newAccount(clock.nowSeconds(), opts.accountId);
  const writer =
    opts.dataDir === undefined
      ? undefined
      : new SnapshotWriter(
          opts.dataDir,
          () => takeSnapshot(state, idempotency),
          opts.persistDebounceMs,
        );
  const changed = () => writer?.schedule();
  // A new account is saved at once, so a restart right after still finds the same id.
  if (state.account.id !== saved?.id) changed();

  const register = (
    url: string,
    secret: string | undefined,
    enabledEvents: string[],
    cause?: EventCause,
  ): WebhookEndpointRecord => {
    const existing = state.endpoints
      .values()
      .find((e) => e.url === url && (secret === undefined || e.secret === secret));
    if (existing && cause === undefined) return existing;
    const record: WebhookEndpointRecord = {
      id: newId('we'),
      object: 'webhook_endpoint',
      api_version: null,
      application: null,
      created: clock.nowSeconds(),
      description: null,
      enabled_events: enabledEvents,
      livemode: cause?.livemode ?? false,
      metadata: {},
      secret: secret ?? newWebhookSecret(),
      status: 'enabled',
      url,
    };
    state.endpoints.put(record);
    return record;
  };
  const registerInitial = () =>
    opts.webhooks.forEach((w) => register(w.url, w.secret, w.enabledEvents ?? ['*']));
  registerInitial();

  const emit = eventEmitter(state, clock, dispatcher, () => opts.maxEvents);
  const pipeline = new ApiPipeline({
    services: {
      state,
      clock,
      emit,
      addEndpoint: (url, secret, events, cause) =>
        renderEndpoint(register(url, secret, events, cause), true),
    },
    faults,
    idempotency,
    log,
    defaultApiVersion: opts.apiVersion,
    changed,
  });
  const control = createControl({
    state,
    clock,
    faults,
    idempotency,
    log,
    dispatcher,
    register,
    registerInitial,
    changed,
  });
  const { server, port } = await listen(
    (req) =>
      req.path.startsWith('/_emulator/')
        ? handleControl(control, req.method, req.path, req.query, req.body)
        : pipeline.handle(req),
    opts.host,
    opts.port,
  );
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    ...control,
    url: `http://${host}:${port}`,
    port,
    accountId: state.account.id,
    async close() {
      dispatcher.close();
      await closeServer(server);
      await writer?.close();
    },
  };
}
