// What the import tests share: an account already in use (a Stripe emulator seeded directly, with a
// recording proxy in front that rtws talks to), a catalogue loaded before capture existed, rtws as
// child processes that a test may SIGKILL, and the /backfills API. Everything started is stopped
// by close(), which the suites call from their after hooks.
import Stripe from 'stripe';
import type { Env } from '../../core/config.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { apiUrlOf, spawnRtws, type RtwsProcess } from './process.ts';
import { stripeTap, type StripeTap } from './stripe-tap.ts';
import {
  authHeaders,
  observe,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from './rtws.ts';

/** A live-mode key: a test key would pace rtws to Stripe's test budget of 20 calls/s. */
export const IMPORT_KEY = 'sk_live_rtws_import_tests';

export interface ImportStack {
  readonly t: TestEnvironment;
  readonly o: Observer;
  readonly emulator: StripeEmulator;
  readonly tap: StripeTap;
  /** Straight to the emulator: what the account's owner sees, not recorded by the tap. */
  readonly stripe: Stripe;
  /** Starts rtws as a child process and waits for its API. */
  spawn(overrides?: Env): Promise<{ process: RtwsProcess; api: BackfillsApi }>;
  /** Kills every child, then stops the proxy and the emulator and drops the database. */
  close(): Promise<void>;
}

export async function importStack(): Promise<ImportStack> {
  // Newest first: children, proxy, emulator, connections, then the database and namespace.
  const stops: (() => Promise<unknown>)[] = [];
  const close = async () => {
    const errors: unknown[] = [];
    for (const stop of stops.splice(0)) await stop().catch((err: unknown) => errors.push(err));
    if (errors.length > 0)
      throw new AggregateError(errors, 'the import stack did not stop cleanly');
  };
  try {
    const t = await testEnvironment();
    stops.unshift(() => t.cleanup());
    const o = await observe(t);
    stops.unshift(() => o.close());
    const emulator = await startStripeEmulator({ port: 0, searchLagMs: 0 });
    stops.unshift(() => emulator.close());
    const tap = await stripeTap(emulator.url);
    stops.unshift(() => tap.close());
    const base = new URL(emulator.url);
    const stripe = new Stripe(IMPORT_KEY, {
      host: base.hostname,
      port: Number(base.port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    return {
      t,
      o,
      emulator,
      tap,
      stripe,
      async spawn(overrides = {}) {
        const p = spawnRtws({
          ...t.env,
          STRIPE_SECRET_KEY: IMPORT_KEY,
          STRIPE_API_BASE: tap.url,
          STRIPE_WEBHOOK_SECRET: 'whsec_import_tests',
          // The seeded customers came before rtws: the import places them, not catch-up.
          RTWS_CATCHUP_MARGIN_S: '0',
          LOG_LEVEL: 'warn',
          ...overrides,
        });
        stops.unshift(() => p.kill());
        return { process: p, api: backfillsApi(await apiUrlOf(p)) };
      },
      close,
    };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}

/**
 * Creates these customers in the account, a few at a time; resolves to them in the order given.
 * Waits past the second they were created in, so that catch-up (whose margin the stack sets to 0)
 * leaves them to the import.
 */
export async function seedStripe(
  stripe: Stripe,
  specs: readonly { name: string; email: string }[],
  concurrency = 16,
): Promise<Stripe.Customer[]> {
  const out = new Array<Stripe.Customer>(specs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < specs.length) {
        const i = next++;
        out[i] = await stripe.customers.create(specs[i]);
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 1_100));
  return out;
}

/**
 * Catalogue rows as an adopting company has them: loaded before capture existed (the trigger off,
 * as a bulk load does), so never published and linked to no target.
 */
export async function loadCatalogue(
  o: Observer,
  rows: readonly { name: string; email: string }[],
): Promise<{ id: string; email: string }[]> {
  return o.sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    return tx<{ id: string; email: string }[]>`
      INSERT INTO customers (name, email)
      SELECT * FROM unnest(${tx.array(rows.map((r) => r.name))}::text[],
                           ${tx.array(rows.map((r) => r.email))}::text[])
      RETURNING id, email`;
  });
}

/** `GET /backfills/:id`, as much of it as the tests read. */
export interface BackfillView {
  id: number;
  state: string;
  scanned: number;
  counts: Record<string, number>;
  total_estimate: number | null;
  errors: number;
  last_error: string | null;
  started_at: string;
  ended_at: string | null;
}

export interface BackfillsApi {
  readonly url: string;
  start(body: Record<string, unknown>): Promise<BackfillView>;
  get(id: number): Promise<BackfillView>;
  ambiguities(
    id: number,
  ): Promise<
    { stripe_id: string; email: string | null; customers: string[]; stripe_ids: string[] }[]
  >;
  /**
   * Polls until the backfill is no longer running, or its progress has stood still for
   * `stallMs`; resolves to its last view.
   */
  ended(id: number, stallMs?: number): Promise<BackfillView>;
}

export function backfillsApi(url: string): BackfillsApi {
  const call = async <T>(method: string, path: string, ok: number, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? { authorization: authHeaders().authorization! } : authHeaders(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status !== ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const api: BackfillsApi = {
    url,
    start: (body) => call('POST', '/backfills', 202, body),
    get: (id) => call('GET', `/backfills/${id}`, 200),
    async ambiguities(id) {
      return (await call<{ data: never[] }>('GET', `/backfills/${id}/ambiguities?limit=100`, 200))
        .data;
    },
    ended: (id, stallMs) =>
      untilSettled(
        () => api.get(id),
        (b) => b.state !== 'running',
        stallMs,
      ),
  };
  return api;
}

/**
 * Polls until `done` holds, or until the probed value (compared as JSON, so plain data) has not
 * changed for `stallMs`: a large run may take long, work that stopped moving fails soon.
 */
export async function untilSettled<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  stallMs = 20_000,
  everyMs = 250,
): Promise<T> {
  let value = await probe();
  let last = JSON.stringify(value);
  let movedAt = Date.now();
  while (!done(value) && Date.now() - movedAt < stallMs) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await probe();
    const now = JSON.stringify(value);
    if (now !== last) [last, movedAt] = [now, Date.now()];
  }
  return value;
}

/** Sums a backfill's decision counts. */
export const total = (counts: Record<string, number>): number =>
  Object.values(counts).reduce((a, b) => a + b, 0);
