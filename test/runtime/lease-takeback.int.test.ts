// A worker restarted under its locked identity takes its partitions back once the dead run's calls
// must be over, before the leases would expire; a second live process cannot take the identity;
// a worker with a random id still waits for the leases to expire.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../core/ports.ts';
import { partitionToken } from '../../core/subjects.ts';
import { defaultMarginMs, reclaimWaitMs } from '../../actors/runtime/leases.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { lockWorkerIdentity, WorkerIdInUseError } from '../../adapters/postgres/worker-identity.ts';
import {
  startWorker,
  type Worker,
  type WorkerOptions,
} from '../../deploy/wiring/worker/start-worker.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from '../harness/rtws.ts';
import { eventually } from '../harness/stream.ts';
import { customerIn, fact, publishFact } from './facts.ts';
import { storedActors } from './fixture.ts';

const TTL_MS = 3_000;
const CALL_TIMEOUT_MS = 500;
/** 3 s − 1.2 s margin − 1 s call slack. */
const RECLAIM_AFTER_MS = reclaimWaitMs({
  ttlMs: TTL_MS,
  marginMs: defaultMarginMs(TTL_MS),
  callSlackMs: 1_000,
});

interface LogEvent {
  readonly msg: string;
  readonly partition: number | undefined;
  readonly at: number;
}

interface Running {
  readonly worker: Worker;
  readonly nats: NatsConnection;
  /** What the worker logged, with when: a partition is held from its log line on. */
  readonly events: LogEvent[];
}

interface Ctx {
  t: TestEnvironment;
  o: Observer;
  running: Running[];
}

const test = suite<Ctx>('lease takeback');

test.before.each(async (ctx) => {
  ctx.running = [];
  ctx.t = await testEnvironment();
  ctx.o = await observe(ctx.t);
});

test.after.each(async (ctx) => {
  for (const r of ctx.running) {
    await r.worker.stop().catch(() => {});
    if (!r.nats.isClosed()) await r.nats.close();
  }
  await ctx.o?.close();
  await ctx.t?.cleanup();
});

function recordingLogger(events: LogEvent[]): Logger {
  const record = (obj: object, msg = '') =>
    void events.push({ msg, partition: (obj as { partition?: number }).partition, at: Date.now() });
  const log: Logger = {
    debug: record,
    info: record,
    warn: record,
    error: record,
    child: () => log,
  };
  return log;
}

async function start(ctx: Ctx, options: Partial<WorkerOptions> = {}): Promise<Running> {
  const nats = await connectNats({ servers: [ctx.t.natsUrl], name: 'rtws-test-worker' });
  const events: LogEvent[] = [];
  try {
    const worker = await startWorker({
      nats,
      names: ctx.t.names,
      log: recordingLogger(events),
      ...ctx.t.config().worker,
      leaseTtlMs: TTL_MS,
      callTimeoutMs: CALL_TIMEOUT_MS,
      ...options,
    });
    const running = { worker, nats, events };
    ctx.running.push(running);
    return running;
  } catch (err) {
    await nats.close();
    throw err;
  }
}

const lockedIdentity = (ctx: Ctx): WorkerOptions['identity'] => ({
  lock: (workerId) => lockWorkerIdentity(ctx.t.db.url, workerId),
});

/** Each lease in KV: its holder, revision and when the server stored it. */
async function leaseEntries(ctx: Ctx) {
  const kv = await new Kvm(jetstream(ctx.o.nats)).open(ctx.t.names.bucket('LEASES'));
  const out = new Map<number, { holder: string; revision: number; storedAt: number }>();
  for (let p = 0; p < ctx.t.names.partitions; p++) {
    const e = await kv.get(`p.${partitionToken(p)}`);
    if (e?.operation !== 'PUT') continue;
    const { holder } = e.json<{ holder: string }>();
    out.set(p, { holder, revision: e.revision, storedAt: e.created.getTime() });
  }
  return out;
}

/** When each partition was first held through `msg` (logged as the lease is recorded). */
function heldAt(r: Running, msg: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of r.events)
    if (e.msg === msg && e.partition !== undefined && !out.has(e.partition))
      out.set(e.partition, e.at);
  return out;
}

async function holdingAll(r: Running, partitions: number): Promise<number[]> {
  return eventually(
    async () => r.worker.stats.ownedPartitions,
    (owned) => owned.length === partitions,
    TTL_MS * 3,
    20,
  );
}

test('restarted under its identity, a worker takes its partitions back after the call horizon, before expiry', async (ctx) => {
  const partitions = ctx.t.names.partitions;
  const first = await start(ctx, { workerId: 'w-same', identity: lockedIdentity(ctx) });
  assert.is((await holdingAll(first, partitions)).length, partitions);
  await first.worker.abandon(); // a crash: the leases stay
  const left = await leaseEntries(ctx);
  assert.is(left.size, partitions, 'the dead run left every lease');
  assert.ok([...left.values()].every((l) => l.holder === 'w-same'));

  const startedAt = Date.now();
  const second = await start(ctx, { workerId: 'w-same', identity: lockedIdentity(ctx) });
  assert.is((await holdingAll(second, partitions)).length, partitions);
  const taken = heldAt(second, 'partition taken back from a previous run');
  assert.is(taken.size, partitions, 'every partition was taken back, none claimed after expiry');
  for (const [p, at] of taken) {
    const old = left.get(p)!;
    // The dead run's last renewal was sent before the server stored it: its calls ended by then.
    assert.ok(
      at >= old.storedAt + RECLAIM_AFTER_MS,
      `p${p}: held ${at - old.storedAt} ms after the last renewal`,
    );
    assert.ok(
      at >= startedAt + RECLAIM_AFTER_MS,
      `p${p}: held ${at - startedAt} ms after the restart`,
    );
    assert.ok(at < old.storedAt + TTL_MS, `p${p}: held before the old lease could expire`);
  }
  const now = await leaseEntries(ctx);
  for (const [p, l] of now) {
    assert.is(l.holder, 'w-same');
    assert.ok(l.revision > left.get(p)!.revision, `p${p}: a new revision`);
  }

  // It goes on processing the partitions it took back.
  const ids = Array.from({ length: partitions }, (_, p) => customerIn(ctx.t.names, p));
  await Promise.all(ids.map((id) => publishFact(ctx.o.nats, ctx.t.names, fact(id, 1))));
  const actors = await eventually(
    () => storedActors(ctx.o.nats, ctx.t),
    (a) => ids.every((id) => a.get(id)?.desiredVersion === 1),
    15_000,
    100,
  );
  for (const id of ids) assert.is(actors.get(id)?.desiredVersion, 1, `${id} applied`);
});

test('a second live process with the same id fails to start, and takes nothing', async (ctx) => {
  const partitions = ctx.t.names.partitions;
  const first = await start(ctx, { workerId: 'w-dup', identity: lockedIdentity(ctx) });
  await holdingAll(first, partitions);
  const err = await start(ctx, { workerId: 'w-dup', identity: lockedIdentity(ctx) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, WorkerIdInUseError);
  assert.is((err as WorkerIdInUseError).code, 'worker_id_in_use');
  assert.match((err as Error).message, '"w-dup"');
  await new Promise((r) => setTimeout(r, TTL_MS / 2));
  assert.is(
    first.worker.stats.ownedPartitions.length,
    partitions,
    'the live one keeps its partitions',
  );
  assert.is(first.events.filter((e) => e.msg.includes('taken over')).length, 0);
});

test('a dead session frees the id', async (ctx) => {
  const lock = await lockWorkerIdentity(ctx.t.db.url, 'w-gone');
  const again = () =>
    lockWorkerIdentity(ctx.t.db.url, 'w-gone').then(
      (l) => l,
      () => undefined,
    );
  assert.is(await again(), undefined, 'held while its session lives');
  await ctx.o.sql`
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'rtws-worker-identity' AND datname = current_database()`;
  const next = await eventually(again, (l) => l !== undefined, 5_000, 50);
  assert.ok(next, 'free once the session died');
  await next?.release();
  await lock.release();
});

test('a worker with a random id waits for the leases to expire', async (ctx) => {
  const partitions = ctx.t.names.partitions;
  const first = await start(ctx);
  await holdingAll(first, partitions);
  await first.worker.abandon();
  const left = await leaseEntries(ctx);
  assert.is(left.size, partitions);
  const second = await start(ctx);
  await holdingAll(second, partitions);
  const claimed = heldAt(second, 'partition acquired');
  assert.is(claimed.size, partitions);
  for (const [p, at] of claimed) {
    const old = left.get(p)!;
    assert.ok(
      at >= old.storedAt + TTL_MS,
      `p${p}: claimed ${at - old.storedAt} ms after the last renewal`,
    );
  }
});

test.run();
