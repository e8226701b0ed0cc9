// What "converged" means for the Stripe target, checked from the outside: Postgres's canonical
// fields, every Stripe customer listed from the emulator, and each customer's sync view.
import type Stripe from 'stripe';
import { canonicalFields, sameValue } from '../../core/canonical.ts';
import type { SyncedFields } from '../../core/customer.ts';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { fieldsOf } from '../../adapters/stripe/mapper.ts';
import { eventually } from '../harness/stream.ts';
import { inPool, type ApiClient } from './api-client.ts';
import { stripeCustomersByRtwsId } from './stack.ts';

export interface ConvergenceReport {
  customers: number;
  stripeCustomers: number;
  /** Customers with no Stripe customer. */
  missing: string[];
  /** Customers with more than one Stripe customer. */
  duplicated: string[];
  /** Customers whose one Stripe customer holds other fields than Postgres. */
  differing: string[];
  /** Customers whose sync view is not `synced` at their version (only checked once the rest holds). */
  unsynced: { id: string; status: string; synced: number; version: number }[];
}

export const converged = (r: ConvergenceReport): boolean =>
  r.missing.length + r.duplicated.length + r.differing.length + r.unsynced.length === 0;

type Row = SyncedFields & { id: string; version: number };

async function catalogue(sql: Sql): Promise<Row[]> {
  return sql<Row[]>`
    SELECT id, name, email, phone, address, metadata, version::int AS version
    FROM customers WHERE deleted_at IS NULL ORDER BY id`;
}

export async function convergence(
  sql: Sql,
  stripe: Stripe,
  api: ApiClient,
): Promise<ConvergenceReport> {
  const rows = await catalogue(sql);
  const inStripe = await stripeCustomersByRtwsId(stripe);
  const report: ConvergenceReport = {
    customers: rows.length,
    stripeCustomers: [...inStripe.values()].reduce((n, cs) => n + cs.length, 0),
    missing: [],
    duplicated: [],
    differing: [],
    unsynced: [],
  };
  for (const row of rows) {
    const found = inStripe.get(row.id) ?? [];
    if (found.length === 0) report.missing.push(row.id);
    else if (found.length > 1) report.duplicated.push(row.id);
    else if (!sameFields(row, found[0]!)) report.differing.push(row.id);
  }
  if (!converged(report)) return report;
  const views = await inPool(rows, 16, async (row) => ({ row, view: await api.sync(row.id) }));
  for (const { row, view } of views) {
    const s = view.targets.stripe;
    if (s?.status !== 'synced' || s.synced_version !== row.version)
      report.unsynced.push({
        id: row.id,
        status: s?.status ?? 'none',
        synced: s?.synced_version ?? 0,
        version: row.version,
      });
  }
  return report;
}

function sameFields(row: Row, c: Stripe.Customer): boolean {
  const want = canonicalFields(row);
  const have = fieldsOf(c);
  return (Object.keys(want) as (keyof typeof want)[]).every((k) => sameValue(want[k], have[k]));
}

/** Polls until converged or the deadline; returns the last report either way. */
export function awaitConvergence(
  sql: Sql,
  stripe: Stripe,
  api: ApiClient,
  timeoutMs: number,
): Promise<ConvergenceReport> {
  return eventually(() => convergence(sql, stripe, api), converged, timeoutMs, 500);
}

/** The report without its long id lists, for assertion messages. */
export function summary(r: ConvergenceReport): string {
  return JSON.stringify({
    customers: r.customers,
    stripeCustomers: r.stripeCustomers,
    missing: r.missing.length,
    duplicated: r.duplicated.length,
    differing: r.differing.length,
    unsynced: r.unsynced.slice(0, 5),
    unsyncedCount: r.unsynced.length,
  });
}
