// What the Salesforce inbound benchmark runs against: the bench base (a fresh database and
// namespace, the Stripe emulator in its own process posting its webhooks to rtws), the Salesforce
// emulator in its own process, and rtws in its own process, started again with other settings
// between phases (SIGTERM, so its leases are handed back at once).
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RtwsProcess } from '../harness/process.ts';
import { apiUrl, createCustomer, type Target } from './api.ts';
import { spawnAndWait, stopChild } from './capture.ts';
import { waitFor } from './inbound-stack.ts';
import { benchBase, control, stopEmulator, type BenchBase } from './pipeline-stack.ts';

const LIVE_KEY = 'sk_live_rtws_bench_salesforce';
const WEBHOOK_SECRET = 'whsec_rtws_bench_salesforce';
const WORKER_ID = 'bench-salesforce-worker';
const entry = new URL('../../adapters/emulators/salesforce/cli.ts', import.meta.url).pathname;

export interface SalesforceEmulatorProcess {
  readonly child: ChildProcess;
  readonly loginUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** The emulator's CLI on a free port; its banner names the login URL and the credentials. */
export async function startSalesforceEmulatorProcess(): Promise<SalesforceEmulatorProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const banner: Record<string, string> = {};
  for await (const line of createInterface({ input: child.stdout })) {
    const m = /^\s*(login URL|client id|client secret):\s+(\S+)/.exec(line);
    if (m) banner[m[1]!] = m[2]!;
    if (banner['login URL'] && banner['client id'] && banner['client secret'])
      return {
        child,
        loginUrl: banner['login URL'],
        clientId: banner['client id'],
        clientSecret: banner['client secret'],
      };
  }
  throw new Error('salesforce emulator exited before listening');
}

export interface SalesforceStack {
  readonly base: BenchBase;
  readonly sf: SalesforceEmulatorProcess;
  /** rtws as it runs now, once `start` has been called. */
  readonly rtws: () => RtwsProcess;
  readonly target: () => Target;
  /** Starts rtws with `env` over the stack's settings, stopping the one running first. */
  start(env: Record<string, string>): Promise<void>;
  /** Stops rtws, and leaves the emulators and the database. */
  stopRtws(): Promise<void>;
  close(): Promise<void>;
}

export async function startSalesforceStack(): Promise<SalesforceStack> {
  const base = await benchBase();
  const { env, o, emulator, closers } = base;
  try {
    const sf = await startSalesforceEmulatorProcess();
    closers.push(() => stopEmulator(sf.child));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    closers.push(async () => agent.destroy());
    let rtws: RtwsProcess | undefined;
    let target: Target | undefined;
    const stopRtws = async () => {
      const running = rtws;
      rtws = target = undefined;
      if (running) await stopChild(running);
    };
    closers.push(stopRtws);
    return {
      base,
      sf,
      rtws: () => rtws ?? fail('rtws is not running'),
      target: () => target ?? fail('rtws is not running'),
      async start(extra) {
        await stopRtws();
        rtws = await spawnAndWait(env, o, 'api,publisher,worker', {
          STRIPE_SECRET_KEY: LIVE_KEY,
          STRIPE_API_BASE: emulator.url,
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
          SALESFORCE_LOGIN_URL: sf.loginUrl,
          SALESFORCE_CLIENT_ID: sf.clientId,
          SALESFORCE_CLIENT_SECRET: sf.clientSecret,
          // A stable identity: the restarted worker takes partition 0 back without waiting.
          RTWS_WORKER_ID: WORKER_ID,
          ...extra,
        });
        const url = await apiUrl(rtws);
        target = { url, token: env.env.RTWS_API_TOKEN!, agent };
        await control(emulator.url, 'POST', 'webhooks/endpoints', {
          url: new URL('/webhooks/stripe', url).href,
          secret: WEBHOOK_SECRET,
        });
      },
      stopRtws,
      close: base.close,
    };
  } catch (err) {
    await base.close();
    throw err;
  }
}

function fail(message: string): never {
  throw new Error(message);
}

/** The Salesforce record each customer is linked to, in the order given. */
async function salesforceLinks(s: SalesforceStack, ids: readonly string[]) {
  const rows = await s.base.o.sql<{ customer_id: string; external_id: string }[]>`
    SELECT customer_id, external_id FROM customer_links
    WHERE target = 'salesforce' AND customer_id = ANY(${s.base.o.sql.array([...ids])}::uuid[])`;
  const byId = new Map(rows.map((r) => [r.customer_id, r.external_id]));
  return ids.flatMap((id) => {
    const recordId = byId.get(id);
    return recordId ? [{ customerId: id, recordId }] : [];
  });
}

export interface LinkedRecord {
  readonly customerId: string;
  readonly recordId: string;
}

/** `n` customers created through the API, once rtws has linked each to its Salesforce record. */
export async function seedLinkedToSalesforce(
  s: SalesforceStack,
  n: number,
): Promise<LinkedRecord[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await createCustomer(s.target(), i));
  await waitFor(
    'customers linked to Salesforce',
    async () => (await salesforceLinks(s, ids)).length,
    n,
  );
  return salesforceLinks(s, ids);
}

/** A call to the Salesforce emulator's control API. */
export async function sfControl(
  s: { sf: SalesforceEmulatorProcess },
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${s.sf.loginUrl}/_emulator/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok)
    throw new Error(`salesforce emulator ${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

export interface SalesforceStats {
  apiCalls: number;
  events: { streamingClients: number; deliveredEvents: number };
}

export const sfStats = (s: { sf: SalesforceEmulatorProcess }) =>
  sfControl(s, 'GET', 'stats') as Promise<SalesforceStats>;
