// A whole rtws wired both ways to a Stripe emulator: rtws pushes to it, and it delivers signed
// webhooks back to rtws's receiver, with a short redelivery schedule.
import type { Connection } from 'jsforce';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectSalesforce } from '../../adapters/salesforce/client.ts';
import Stripe from 'stripe';
import { canonicalEmail, canonicalMetadata, canonicalString } from '../../core/canonical.ts';
import type { Address } from '../../core/customer.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import {
  startSalesforceEmulator,
  type SalesforceEmulator,
} from '../../adapters/emulators/salesforce/index.ts';
import {
  observe,
  startTestRtws,
  testEnvironment,
  type Observer,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { eventually, waitFor } from '../harness/stream.ts';
import { QUICK_TAKEOVER, spawnRtws, type RtwsProcess } from '../harness/process.ts';
import { LIVE_KEY } from '../sync/stack.ts';
import { apiClient, type ApiClient } from '../sync/api-client.ts';

const SECRET = 'whsec_inbound_tests';

export interface TwoWay {
  t: TestEnvironment;
  o: Observer;
  emu: StripeEmulator;
  /** The SDK as a person at the dashboard uses it: no rtws key, so a real edit. */
  stripe: Stripe;
  rtws: Rtws;
  api: ApiClient;
  /** The webhook signing secret rtws accepts. */
  secret: string;
  /** With `salesforce`: the Salesforce emulator rtws also syncs to. */
  sf: SalesforceEmulator | undefined;
  /** With `separateWorker`: stops the worker process's rtws and starts it again. */
  restartWorker(): Promise<void>;
  /** With `workerProcess`: SIGKILLs the worker, a child process, as a crash would. */
  killWorker(): Promise<void>;
  /** With `workerProcess`: starts the worker process again (after `killWorker`). */
  spawnWorker(): void;
  /** Closes the main rtws (the webhook receiver included): Stripe's deliveries to it fail. */
  stopRtws(): Promise<void>;
  /** Starts the main rtws again, on the same port, so the registered endpoint and `api` still reach it. */
  startRtws(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `separateWorker`: the worker role runs in an rtws of its own, which `restartWorker` restarts
 * while the API (and the webhook receiver Stripe delivers to) stays up. `workerProcess`: the
 * worker role runs in a child process, which `killWorker` SIGKILLs, with `QUICK_TAKEOVER`'s lease
 * and `workerEnv` added to its environment. `env` is added to every rtws's environment.
 * `salesforce`: Salesforce is a target too, through its emulator.
 */
export async function twoWay(
  options: {
    separateWorker?: boolean;
    workerProcess?: boolean;
    workerEnv?: Record<string, string>;
    /** Added to every rtws's environment. */
    env?: Record<string, string>;
    salesforce?: boolean;
  } = {},
): Promise<TwoWay> {
  const t = await testEnvironment();
  const o = await observe(t);
  const emu = await startStripeEmulator({
    port: 0,
    searchLagMs: 0,
    webhookRetryScheduleMs: [200, 400, 800],
  });
  const base = new URL(emu.url);
  const stripe = new Stripe(LIVE_KEY, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
  const sf = options.salesforce ? await startSalesforceEmulator({ port: 0 }) : undefined;
  const env = {
    ...options.env,
    STRIPE_SECRET_KEY: LIVE_KEY,
    STRIPE_API_BASE: emu.url,
    STRIPE_WEBHOOK_SECRET: SECRET,
    ...(sf
      ? {
          SALESFORCE_LOGIN_URL: sf.loginUrl,
          SALESFORCE_CLIENT_ID: sf.clientId,
          SALESFORCE_CLIENT_SECRET: sf.clientSecret,
        }
      : {}),
  };
  const startWorker = () => startTestRtws(t, { ...env, RTWS_ROLES: 'worker' });
  const spawnWorker = () =>
    spawnRtws({ ...t.env, ...env, ...QUICK_TAKEOVER, ...options.workerEnv, RTWS_ROLES: 'worker' });
  const apart = options.separateWorker || options.workerProcess;
  const mainEnv = { ...env, ...(apart ? { RTWS_ROLES: 'api,publisher' } : {}) };
  let rtws: Rtws | undefined;
  let worker: Rtws | undefined;
  let child: RtwsProcess | undefined;
  try {
    rtws = await startTestRtws(t, mainEnv);
    if (options.workerProcess) child = spawnWorker();
    if (options.separateWorker) worker = await startWorker();
    emu.registerWebhookEndpoint(`${rtws.url}/webhooks/stripe`, SECRET);
  } catch (err) {
    await child?.kill();
    await worker?.close();
    await rtws?.close();
    await sf?.close();
    await emu.close();
    await o.close();
    await t.cleanup();
    throw err;
  }
  let current: Rtws | undefined = rtws;
  const port = new URL(rtws.url!).port;
  return {
    t,
    o,
    emu,
    stripe,
    get rtws() {
      if (!current) throw new Error('the main rtws is stopped');
      return current;
    },
    api: apiClient(rtws.url!),
    secret: SECRET,
    sf,
    async restartWorker() {
      if (!worker) throw new Error('twoWay() was started without separateWorker');
      await worker.close();
      worker = undefined;
      worker = await startWorker();
    },
    async killWorker() {
      if (!options.workerProcess) throw new Error('twoWay() was started without workerProcess');
      await child?.kill('SIGKILL');
      child = undefined;
    },
    spawnWorker() {
      if (!options.workerProcess || child) throw new Error('no worker process to start');
      child = spawnWorker();
    },
    async stopRtws() {
      const running = current;
      current = undefined;
      await running?.close();
    },
    async startRtws() {
      if (current) throw new Error('the main rtws is running');
      current = await startTestRtws(t, { ...mainEnv, PORT: port });
    },
    async close() {
      await child?.kill();
      await worker?.close();
      await current?.close();
      await sf?.close();
      await emu.close();
      await o.close();
      await t.cleanup();
    },
  };
}

export interface Row {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  address: Address | null;
  metadata: Record<string, string>;
  version: number;
  origin: string;
  deleted_at: Date | null;
}

export async function row(s: TwoWay, id: string): Promise<Row | undefined> {
  const [r] = await s.o.sql<Row[]>`
    SELECT id, name, email, phone, address, metadata, version::int AS version, origin, deleted_at
    FROM customers WHERE id = ${id}`;
  return r;
}

/** The Stripe id once the customer is linked (and Stripe holds the created customer). */
export async function linked(s: TwoWay, id: string, timeoutMs = 10_000): Promise<string> {
  const link = await eventually(
    async () => {
      const [l] = await s.o.sql<{ external_id: string }[]>`
        SELECT external_id FROM customer_links WHERE customer_id = ${id} AND target = 'stripe'`;
      return l?.external_id;
    },
    (v) => v !== undefined,
    timeoutMs,
  );
  if (!link) throw new Error(`customer ${id} was never linked to Stripe`);
  return link;
}

/** Waits until the row passes `check`; returns it (the caller asserts on it). */
export function rowWhen(s: TwoWay, id: string, check: (r: Row) => boolean, timeoutMs = 10_000) {
  return eventually(
    () => row(s, id),
    (r) => r !== undefined && check(r),
    timeoutMs,
  );
}

/** Waits until webhooks and the work they cause have settled. */
/**
 * An API edit whose push to Stripe is refused once (400), leaving the target failed: a Stripe edit
 * made now meets a change rtws has not pushed, as a concurrent edit on both sides would.
 */
export async function unpushedEdit(
  s: TwoWay,
  id: string,
  stripeId: string,
  body: Record<string, unknown>,
): Promise<void> {
  s.emu.failNext({ method: 'POST', path: `/v1/customers/${stripeId}`, status: 400, count: 1 });
  await s.api.patch(id, body);
  await waitFor(
    () => s.api.sync(id),
    (v) => v.targets.stripe?.status === 'failed',
    10_000,
  );
}

export async function quiet(s: TwoWay, ms = 1_500): Promise<void> {
  await s.emu.flushWebhooks();
  await new Promise((r) => setTimeout(r, ms));
  await s.emu.flushWebhooks();
}

/** The synced fields of a catalogue row or a Stripe customer, canonical, for comparing the two. */
export function synced(c: {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  metadata: Record<string, unknown>;
}) {
  return {
    name: c.name ?? null,
    email: canonicalEmail(c.email),
    phone: canonicalString(c.phone),
    metadata: canonicalMetadata(c.metadata),
  };
}

/** An Account as the fan-out tests read it back. */
export interface Account {
  Name: string;
  Rtws_Email__c: string | null;
}

/** A jsforce connection to the stack's Salesforce emulator, as the official client would make. */
export function salesforceOf(s: TwoWay): Promise<Connection> {
  const sf = s.sf!;
  return connectSalesforce({
    loginUrl: sf.loginUrl,
    clientId: sf.clientId,
    clientSecret: sf.clientSecret,
  });
}

/** The Accounts carrying this customer's id. */
export async function accountsOf(conn: Connection, id: string): Promise<Account[]> {
  const r = await conn.query<Account>(
    `SELECT Name, Rtws_Email__c FROM Account WHERE Rtws_Id__c = '${id}'`,
  );
  return r.records.map(({ Name, Rtws_Email__c }) => ({ Name, Rtws_Email__c }));
}

/** The holders of the partitions' leases now, one per partition leased. */
async function holders(s: TwoWay): Promise<string[]> {
  try {
    const kv = await new Kvm(jetstream(s.o.nats)).open(s.t.names.bucket('LEASES'));
    const out: string[] = [];
    for await (const key of await kv.keys('p.*')) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') out.push(e.json<{ holder: string }>().holder);
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * A worker holds every partition, and none is still leased to one that was killed: a killed
 * worker's leases stay in KV until they lapse (RTWS_LEASE_TTL_MS), and until then its successor
 * holds nothing.
 */
export async function holdsEvery(
  s: TwoWay,
  gone: ReadonlySet<string> = new Set(),
): Promise<Set<string>> {
  const now = await eventually(
    () => holders(s),
    (h) => h.length === s.t.names.partitions && h.every((x) => !gone.has(x)),
    60_000,
    250,
  );
  assert.is(now.length, s.t.names.partitions, 'the worker holds every partition');
  assert.ok(
    now.every((x) => !gone.has(x)),
    'no partition is still leased to the killed worker',
  );
  return new Set(now);
}
