// The footprint benchmark's rows: per change of each phase, and for the deployment at the end.
import type { BenchResult } from './capture.ts';
import type { PgActivity, Sizes, Tally } from './footprint-sizes.ts';
import type { TableAtScale } from './footprint-pg.ts';
import type { Figure } from './report.ts';

export interface Phase {
  name: string;
  /** Writes answered (API writes, or Stripe edits) in the phase. */
  changes: number;
  errors: number;
  seconds: number;
  from: Sizes;
  to: Sizes;
  changesByKind: Map<string, Tally>;
  inboundByKind: Map<string, Tally>;
  /** CPU seconds per 1,000 changes, by process group. */
  cpuPer1000: Record<string, number>;
  cpuText: string;
}

export interface Footprint {
  start: Sizes;
  phases: Phase[];
  customers: number;
  replicas: number;
  /** Postgres's counters before the first phase and after the idle reading. */
  pg: { from: PgActivity; to: PgActivity };
  /** The bench's rows copied to 100,000 per table and vacuumed. */
  atScale: Record<string, TableAtScale>;
  /** Cores each process group used with nothing to do, after the phases. */
  idle: Record<string, number>;
  consumers: Record<string, number>;
  storeDirs: readonly string[];
}

const isBucket = (name: string) => name.startsWith('KV ');
const TIMED = 'KV LEASES';

const n2 = (x: number) => x.toFixed(2);
const bytes = (x: number) => `${Math.round(x).toLocaleString('en-US')} B`;

function delta(p: Phase, name: string) {
  const a = p.from.streams[name];
  const b = p.to.streams[name];
  if (!b) return { written: 0, stored: 0 };
  return {
    written: b.lastSeq - (a?.lastSeq ?? 0),
    stored: b.bytes - (a?.bytes ?? 0),
  };
}

function kinds(tally: Map<string, Tally>, per: number): string {
  return [...tally.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .map(([k, t]) => `${k} ${n2(t.count / per)} x ${bytes(t.bytes / t.count)}`)
    .join(', ');
}

function streamRow(p: Phase): Figure {
  const names = Object.keys(p.to.streams).filter((n) => !isBucket(n));
  const parts = names.map((n) => ({ n, ...delta(p, n) })).filter((d) => d.written > 0);
  const stored = parts.reduce((sum, d) => sum + d.stored, 0);
  return {
    name: `footprint, ${p.name}: stream bytes stored per change`,
    value: stored / p.changes,
    unit: 'B',
    note: `${parts.map((d) => `${d.n} ${n2(d.written / p.changes)} msg, ${bytes(d.stored / p.changes)}`).join('; ')}. On CHANGES per change (payload): ${kinds(p.changesByKind, p.changes)}${p.inboundByKind.size ? `. On INBOUND: ${kinds(p.inboundByKind, p.changes)}` : ''}`,
  };
}

function kvRow(p: Phase): Figure {
  const names = Object.keys(p.to.streams).filter((n) => isBucket(n) && n !== TIMED);
  const parts = names
    .map((n) => {
      const held = p.to.streams[n]!;
      const record = held.messages ? held.bytes / held.messages : 0;
      return { n, record, ...delta(p, n) };
    })
    .filter((d) => d.written > 0);
  const writes = parts.reduce((sum, d) => sum + d.written, 0);
  const written = parts.reduce((sum, d) => sum + d.written * d.record, 0);
  return {
    name: `footprint, ${p.name}: KV writes per change`,
    value: writes / p.changes,
    unit: 'writes',
    note: `${parts.map((d) => `${d.n} ${n2(d.written / p.changes)} writes of ${bytes(d.record)} each, held ${d.stored >= 0 ? '+' : ''}${bytes(d.stored / p.changes)}`).join('; ')}; about ${bytes(written / p.changes)} written per change (writes x the bucket's mean record)`,
  };
}

function tableDeltas(from: Sizes, to: Sizes) {
  return Object.keys(to.tables)
    .map((t) => ({ t, d: to.tables[t]! - (from.tables[t] ?? 0) }))
    .filter((x) => x.d !== 0)
    .sort((a, b) => b.d - a.d);
}

function postgresRow(p: Phase): Figure {
  const parts = tableDeltas(p.from, p.to);
  const total = parts.reduce((sum, x) => sum + x.d, 0);
  return {
    name: `footprint, ${p.name}: Postgres growth per change`,
    value: total / p.changes,
    unit: 'B',
    note: `${parts.map((x) => `${x.t} ${bytes(x.d / p.changes)}`).join(', ')} (pg_total_relation_size: heap, indexes, TOAST; dead row versions included)`,
  };
}

function cpuRow(p: Phase): Figure {
  const others = Object.entries(p.cpuPer1000)
    .filter(([g]) => g !== 'rtws')
    .map(([g, v]) => `${g} ${n2(v)}`)
    .join(', ');
  return {
    name: `footprint, ${p.name}: rtws CPU per 1,000 changes`,
    value: p.cpuPer1000.rtws ?? NaN,
    unit: 'CPU-s',
    note: `${p.changes} changes (${p.errors} errors) in ${p.seconds.toFixed(1)} s, settling included; others per 1,000: ${others} (nats and "pg other" are shared with whatever else runs)`,
  };
}

function endRows(f: Footprint): Figure[] {
  const end = f.phases.at(-1)!.to;
  const actors = end.streams['KV ACTORS'];
  const pg = tableDeltas(f.start, end);
  const pgTotal = pg.reduce((sum, x) => sum + x.d, 0);
  const mine = Object.entries(end.streams);
  const counted = mine.reduce((sum, [, s]) => sum + s.bytes, 0);
  const onDisk = mine.reduce((sum, [, s]) => sum + (s.disk ?? 0), 0);
  const leases = end.streams[TIMED];
  const leaseWrites = leases ? leases.lastSeq - (f.start.streams[TIMED]?.lastSeq ?? 0) : 0;
  const leaseSeconds = (end.at - f.start.at) / 1000;
  const consumers = Object.values(f.consumers).reduce((a, b) => a + b, 0);
  const rows: Figure[] = [
    {
      name: 'footprint: ACTORS snapshot per customer',
      value: actors ? actors.bytes / actors.messages : NaN,
      unit: 'B',
      note: actors
        ? `${actors.messages} snapshots held, ${bytes(actors.bytes)} counted${actors.disk === undefined ? '' : `, ${bytes(actors.disk)} in the store folder (${bytes(actors.disk / actors.messages)} per customer)`}; one key per customer ever synced, kept after passivation`
        : 'no ACTORS bucket',
    },
    {
      name: 'footprint: Postgres per customer',
      value: pgTotal / f.customers,
      unit: 'B',
      note: `${f.customers} customers, each created, updated ${f.phases.length - 2} times, a quarter edited in Stripe: ${pg.map((x) => `${x.t} ${bytes(x.d / f.customers)}`).join(', ')}`,
    },
    {
      name: 'footprint: JetStream assets per deployment',
      value: mine.length + consumers,
      unit: 'assets',
      note: `${mine.length} streams and buckets (${mine.map(([n]) => n).join(', ')}), ${consumers} durable consumers (${Object.entries(
        f.consumers,
      )
        .filter(([, v]) => v > 0)
        .map(([n, v]) => `${n} ${v}`)
        .join(', ')}); LEASES ${n2(leaseWrites / leaseSeconds)} writes/s whatever the load`,
    },
  ];
  const changes = f.phases.reduce((sum, p) => sum + p.changes, 0);
  const { from, to } = f.pg;
  const per = (a: number, b: number) => n2((b - a) / changes);
  rows.push({
    name: 'footprint: Postgres rows written per change',
    value:
      (to.rows.inserted +
        to.rows.updated +
        to.rows.deleted -
        (from.rows.inserted + from.rows.updated + from.rows.deleted)) /
      changes,
    unit: 'rows',
    note: `over all ${changes} changes: inserted ${per(from.rows.inserted, to.rows.inserted)}, updated ${per(from.rows.updated, to.rows.updated)}, deleted ${per(from.rows.deleted, to.rows.deleted)}; ${per(from.commits, to.commits)} commits per change, read-only ones and the idle reading's included; WAL ${bytes((to.wal - from.wal) / changes)} per change, written by the whole cluster (other databases too)`,
  });
  const perRow = (t: string) => {
    const x = f.atScale[t];
    return x ? x.bytes / x.rows : NaN;
  };
  rows.push({
    name: 'footprint: Postgres per customer at scale (customers and customer_links)',
    value: perRow('customers') + perRow('customer_links'),
    unit: 'B',
    note: `${Object.entries(f.atScale)
      .map(
        ([t, x]) =>
          `${t} ${bytes(x.bytes / x.rows)} per row (${x.rows.toLocaleString('en-US')} rows, ${bytes(x.bytes)})`,
      )
      .join('; ')}: the bench's rows copied with new ids into tables LIKE them, vacuumed`,
  });
  rows.push({
    name: 'footprint: idle deployment, rtws cores',
    value: f.idle.rtws ?? NaN,
    unit: 'cores',
    note: `${Object.entries(f.idle)
      .filter(([g]) => g !== 'rtws')
      .map(([g, v]) => `${g} ${v.toFixed(3)}`)
      .join(', ')} (R${f.replicas}; nats is the shared server's whole load at R1)`,
  });
  if (f.storeDirs.length)
    rows.push({
      name: 'footprint: store folders / bytes JetStream counts',
      value: onDisk / counted,
      unit: 'x',
      note: `${mine.map(([n, s]) => `${n} ${bytes(s.disk ?? 0)} for ${bytes(s.bytes)}`).join('; ')} (R${f.replicas}, summed over ${f.storeDirs.length} store director${f.storeDirs.length === 1 ? 'y' : 'ies'}; a stream's folder also holds its consumers' state)`,
    });
  return rows;
}

export function footprintFigures(f: Footprint): BenchResult {
  const figures = f.phases.flatMap((p) => [streamRow(p), kvRow(p), postgresRow(p), cpuRow(p)]);
  figures.push(...endRows(f));
  const cpu = f.phases.map(
    (p) => `footprint ${p.name} (${p.changes} changes, ${p.seconds.toFixed(1)} s): ${p.cpuText}`,
  );
  return { figures, cpu };
}
