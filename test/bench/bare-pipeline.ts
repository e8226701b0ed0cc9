// The bare pipeline: the least work a change can cost on this machine, with no rtws code in the
// path, as the limit the rtws pipeline is compared against. A plain AFTER INSERT trigger writes an
// outbox row; a relay takes outbox rows in batches and publishes each to a stream of its own; a
// consumer handles one customer's messages one at a time (different customers concurrently), each
// with one POST /v1/customers to the Stripe emulator. Phases: flat out with a bounded backlog
// (throughput, CPU per change), then an open loop at 500 changes/s (commit -> call done).
// RTWS_BENCH_BARE_SECONDS sets each phase's length (default 20).
import postgres from 'postgres';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { createTestDatabase, sharedServices, uniqueName } from '../harness/services.ts';
import { startEmulatorProcess } from './stripe-emulator.ts';
import { stopEmulator } from './pipeline-stack.ts';
import type { BenchResult } from './capture.ts';
import {
  cpuSplit,
  groupDelta,
  natsServerPids,
  pidsNamed,
  sampleCpu,
  sleep,
  spread,
  type Figure,
} from './report.ts';

const CLIENTS = 16;
const BACKLOG = 500;
const BATCH = 500;
const CUSTOMERS = 1_000;
const PACED_PER_SECOND = 500;
const STRIPE_KEY = 'sk_test_rtws_bench_bare';

export interface BareFigures {
  perSecond: number;
  cpuPerChangeMs: number;
  allCpuPerChangeMs: number;
  p99Ms: number;
}

function phaseSeconds(): number {
  const raw = process.env.RTWS_BENCH_BARE_SECONDS;
  const s = raw === undefined || raw === '' ? 20 : Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 600)
    throw new Error(`RTWS_BENCH_BARE_SECONDS must be in (0, 600], got ${JSON.stringify(raw)}`);
  return s;
}

const SCHEMA = `
  CREATE TABLE customer (id bigserial PRIMARY KEY, customer_key text NOT NULL, email text NOT NULL);
  CREATE TABLE outbox (id bigserial PRIMARY KEY, customer_key text NOT NULL, payload jsonb NOT NULL);
  CREATE FUNCTION customer_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO outbox (customer_key, payload)
      VALUES (NEW.customer_key, jsonb_build_object('id', NEW.id, 'email', NEW.email));
    RETURN NULL;
  END $$;
  CREATE TRIGGER customer_outbox AFTER INSERT ON customer
    FOR EACH ROW EXECUTE FUNCTION customer_outbox();`;

export async function benchBarePipeline(): Promise<{ result: BenchResult; bare: BareFigures }> {
  const seconds = phaseSeconds();
  const { natsUrl } = await sharedServices();
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((e) => console.error('bare close:', e));
  };
  try {
    const db = await createTestDatabase();
    closers.push(() => db.drop());
    const sql = postgres(db.url, { max: CLIENTS + 2, onnotice: () => {} });
    closers.push(() => sql.end());
    await sql.unsafe(SCHEMA);

    const emulator = await startEmulatorProcess();
    closers.push(() => stopEmulator(emulator.child));

    const nc = await connect({ servers: [natsUrl], name: 'rtws-bench-bare' });
    closers.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const stream = uniqueName('BARE_');
    const prefix = stream.toLowerCase();
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
    closers.push(() => jsm.streams.delete(stream));
    const js = jetstream(nc);

    // Commit times by row id, taken when the INSERT's autocommit answers.
    const committed = new Map<number, number>();
    const latencies: number[] = [];
    let recording = false;
    let done = 0;
    let running = true;

    const relay = (async () => {
      while (running) {
        const rows = await sql.begin(async (tx) => {
          const taken = await tx<{ id: string; customer_key: string; payload: unknown }[]>`
            DELETE FROM outbox WHERE id IN
              (SELECT id FROM outbox ORDER BY id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
            RETURNING id, customer_key, payload`;
          await Promise.all(
            taken.map((r) =>
              js.publish(`${prefix}.c.${r.customer_key}`, JSON.stringify(r.payload)),
            ),
          );
          return taken.length;
        });
        if (rows === 0) await sleep(5);
      }
    })();
    closers.push(async () => {
      running = false;
      await relay;
    });

    await jsm.consumers.add(stream, {
      durable_name: 'bare',
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 10_000,
    });
    const consumer = await js.consumers.get(stream, 'bare');
    const messages = await consumer.consume({ max_messages: 1_000 });
    closers.push(async () => messages.stop());
    const chains = new Map<string, Promise<void>>();
    const handle = async (m: JsMsg) => {
      const { id, email } = m.json<{ id: number; email: string }>();
      const res = await fetch(`${emulator.url}/v1/customers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${STRIPE_KEY}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ email }).toString(),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`emulator answered ${res.status}`);
      m.ack();
      done++;
      const at = committed.get(id);
      committed.delete(id);
      if (recording && at !== undefined) latencies.push(performance.now() - at);
    };
    void (async () => {
      for await (const m of messages) {
        const key = m.subject.slice(m.subject.lastIndexOf('.') + 1);
        const next = (chains.get(key) ?? Promise.resolve()).then(() =>
          handle(m).catch(() => m.nak()),
        );
        chains.set(key, next);
        void next.then(() => {
          if (chains.get(key) === next) chains.delete(key);
        });
      }
    })();

    let issued = 0;
    const insert = async () => {
      const n = issued++;
      const [row] = await sql<{ id: string }[]>`
        INSERT INTO customer (customer_key, email)
        VALUES (${`c${n % CUSTOMERS}`}, ${`bare${n}@example.com`}) RETURNING id`;
      committed.set(Number(row!.id), performance.now());
    };

    const groups = {
      bench: [process.pid],
      'stripe emulator': [emulator.child.pid!],
      'nats-server': natsServerPids(Number(new URL(natsUrl).port || 4222)),
      postgres: pidsNamed('postgres'),
    };

    // Flat out, never more than BACKLOG ahead of the emulator; the first quarter warms up.
    const flatOut = async (ms: number) => {
      const until = performance.now() + ms;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (performance.now() < until) {
            while (issued - done >= BACKLOG) await sleep(2);
            await insert();
          }
        }),
      );
      while (done < issued) await sleep(10);
    };
    await flatOut(seconds * 250);
    const cpu0 = process.cpuUsage();
    const all0 = sampleCpu(groups);
    const done0 = done;
    await flatOut(seconds * 1_000);
    const all1 = sampleCpu(groups);
    const cpu1 = process.cpuUsage(cpu0);
    const changes = done - done0;
    const wallS = (all1.at - all0.at) / 1000;
    const perSecond = changes / wallS;
    const cpuPerChangeMs = (cpu1.user + cpu1.system) / 1000 / changes;
    const allCpuS = Object.keys(groups).reduce((s, g) => s + groupDelta(all0, all1, g), 0);
    const allCpuPerChangeMs = (allCpuS * 1000) / changes;
    const split = cpuSplit(all0, all1);

    // The open loop: a fixed offered rate, each commit timed to its call done.
    recording = true;
    const pacedFrom = performance.now();
    const pending: Promise<void>[] = [];
    let late = 0;
    for (let k = 0; k < seconds * PACED_PER_SECOND; k++) {
      const due = pacedFrom + (k * 1000) / PACED_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -100) late++;
      pending.push(insert());
    }
    await Promise.all(pending);
    const drainUntil = performance.now() + 60_000;
    while (done < issued && performance.now() < drainUntil) await sleep(10);
    if (done < issued)
      throw new Error(`bare pipeline: ${issued - done} changes never reached Stripe`);
    const lat = spread(latencies);

    const bare: BareFigures = { perSecond, cpuPerChangeMs, allCpuPerChangeMs, p99Ms: lat.p99 };
    const figures: Figure[] = [
      { name: 'bare pipeline: changes/s flat out', value: perSecond, unit: '/s' },
      { name: 'bare pipeline: bench CPU per change', value: cpuPerChangeMs, unit: 'ms' },
      {
        name: 'bare pipeline: all processes CPU per change',
        value: allCpuPerChangeMs,
        unit: 'ms',
        note: 'bench, emulator, nats-server, every postgres process',
      },
      {
        name: `bare pipeline: commit -> call done p50 at ${PACED_PER_SECOND}/s`,
        value: lat.p50,
        unit: 'ms',
      },
      {
        name: `bare pipeline: commit -> call done p99 at ${PACED_PER_SECOND}/s`,
        value: lat.p99,
        unit: 'ms',
        note: late ? `${late} inserts issued over 100 ms late` : undefined,
      },
    ];
    return { result: { figures, cpu: [`bare pipeline flat out: ${split.text}`] }, bare };
  } finally {
    await close();
  }
}
