// `npm run bench -- target-writes`: what Postgres spends on a change seen in Stripe, the write the
// actor asks for after a dashboard edit (`applyFromStripe`, an update whose fields still hold what
// the merge expected: one statement). The baseline, in the same run and on the same rows: a plain
// `UPDATE customers SET name` from the same pool, through the same triggers (the stamp and the
// capture with its outbox row). Each figure is Postgres's CPU per write, its backends for this
// database only, so the machine's neighbours are left out; four closed loops, no publisher (the
// outbox grows the same in both).
import type { CatalogueApply } from '../../actors/customer/index.ts';
import { connectPostgres, type Sql } from '../../adapters/postgres/connect.ts';
import { applyFromStripe } from '../../adapters/postgres/inbound-apply.ts';
import { observe, testEnvironment, type Observer } from '../harness/rtws.ts';
import type { BenchResult } from './capture.ts';
import { cpuGroups } from './capture.ts';
import {
  closedLoops,
  cpuSplit,
  groupDelta,
  sampleCpu,
  sleep,
  type Figure,
  type Timing,
} from './report.ts';

const WRITERS = 4;
const WRITER_APP = 'rtws-bench-target-writes';

interface Phase {
  /** Writes a second. */
  rate: number;
  /** Postgres CPU per write, µs: this database's writer backends. */
  cpuUs: number;
  cpu: string;
}

export async function benchTargetWrites(timing: Timing, customers: number): Promise<BenchResult> {
  const t = await testEnvironment();
  let o: Observer | undefined;
  let sql: Sql | undefined;
  try {
    o = await observe(t);
    sql = connectPostgres(t.db.url, { max: WRITERS, applicationName: WRITER_APP });
    const ids = (
      await o.sql<{ id: string }[]>`
        INSERT INTO customers (name, email, metadata)
        SELECT 'n0', 'bench' || g || '@example.com', '{"tier":"gold"}'
        FROM generate_series(1, ${customers}) g
        RETURNING id`
    ).map((r) => r.id);
    // Each row's name as last written, so that an update from Stripe finds what it expects.
    const names = new Map(ids.map((id) => [id, 'n0']));
    let written = 0;
    const next = () => {
      const id = ids[written++ % ids.length]!;
      const was = names.get(id)!;
      const name = `n${written}`;
      names.set(id, name);
      return { id, was, name };
    };
    const write = (w: ReturnType<typeof next>): CatalogueApply => ({
      id: `bench-${written}`,
      kind: 'update',
      stripeId: `cus_bench_${w.id}`,
      eventIds: [`evt_bench_${written}`],
      patch: { name: w.name },
      expected: { name: w.was },
      fields: null,
      conflicts: [],
      recordedAt: Date.now(),
      doneAtVersion: null,
    });
    const fromStripe = async () => {
      const w = next();
      const r = await applyFromStripe(sql!, w.id, write(w));
      if (!r.applied || !r.captured) throw new Error(`update from Stripe not applied: ${w.id}`);
    };
    const plain = async () => {
      const w = next();
      await sql!`UPDATE customers SET name = ${w.name} WHERE id = ${w.id}`;
    };
    const base = await phase(t.natsUrl, o, timing, plain);
    const target = await phase(t.natsUrl, o, timing, fromStripe);
    const after = await phase(t.natsUrl, o, timing, plain);
    const baseCpu = (base.cpuUs + after.cpuUs) / 2;
    const figures: Figure[] = [
      {
        name: 'target writes baseline: plain UPDATE, Postgres CPU per write',
        value: baseCpu,
        unit: 'µs',
        note:
          `mean of ${base.cpuUs.toFixed(0)} before and ${after.cpuUs.toFixed(0)} after; ` +
          `${Math.round(base.rate)} and ${Math.round(after.rate)} writes/s, ${WRITERS} loops, ` +
          `${customers} rows (RTWS_BENCH_TARGET_WRITES_CUSTOMERS)`,
      },
      {
        name: 'update from Stripe meeting no change, Postgres CPU per write',
        value: target.cpuUs,
        unit: 'µs',
        baseline: baseCpu,
        note:
          `${Math.round(target.rate)} writes/s; one statement each (its fields hold what the ` +
          `merge expected): its inbox entries, settings and checks besides the UPDATE`,
      },
    ];
    return {
      figures,
      cpu: [
        `target writes, plain UPDATE: ${base.cpu}`,
        `target writes, update from Stripe: ${target.cpu}`,
        `target writes, plain UPDATE again: ${after.cpu}`,
      ],
    };
  } finally {
    await sql?.end({ timeout: 1 });
    await o?.close();
    await t.cleanup();
  }
}

/** One measured phase of `step` in closed loops, after its warm-up, the outbox emptied first. */
async function phase(
  natsUrl: string,
  o: Observer,
  timing: Timing,
  step: () => Promise<void>,
): Promise<Phase> {
  await o.sql`TRUNCATE outbox`;
  await o.sql`CHECKPOINT`;
  const loops = closedLoops(WRITERS, step);
  try {
    await sleep(timing.warmupMs);
    // Looked up on the observer's connection, so that only the writers' backends are measured.
    const groups = await cpuGroups(o.sql, natsUrl, undefined, { writers: WRITER_APP });
    const before = sampleCpu(groups);
    const count = loops.done.count;
    await sleep(timing.measureMs);
    const after = sampleCpu(groups);
    const writes = loops.done.count - count;
    if (loops.done.errors > 0) throw loops.done.lastError;
    if (writes === 0) throw new Error('no write was done in the measured phase');
    return {
      rate: writes / ((after.at - before.at) / 1000),
      cpuUs: (groupDelta(before, after, 'writers') / writes) * 1e6,
      cpu: cpuSplit(before, after).text,
    };
  } finally {
    await loops.stop();
  }
}
