// What the invoice-issuing suites share: customers and invoice requests through the API, waiting
// for Postgres to show them issued, and the check that Stripe holds every invoice exactly once.
import type Stripe from 'stripe';
import type { Sql } from '../../adapters/postgres/connect.ts';
import type { Rtws } from '../../deploy/rtws.ts';
import {
  authHeaders,
  startTestRtws,
  testEnvironment,
  type TestEnvironment,
} from '../harness/rtws.ts';
import { inPool } from '../sync/api-client.ts';
import { stripeSide, type StripeSide } from '../sync/stack.ts';

export interface Requested {
  id: string;
  customerId: string;
  total: number;
  items: { description: string; amount: number; quantity: number }[];
}

async function post<T>(url: string, body: unknown, ok: number): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: authHeaders(),
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== ok) throw new Error(`POST ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export async function createCustomers(api: string, n: number, tag: string): Promise<string[]> {
  const made = await inPool(
    Array.from({ length: n }, (_, i) => i),
    16,
    (i) => post<{ id: string }>(`${api}/customers`, { name: `${tag} ${i}` }, 201),
  );
  return made.map((c) => c.id);
}

/** A request with 1–3 items whose amounts and quantities vary with `seed`. */
export function invoiceBody(seed: number) {
  const count = 1 + (seed % 3);
  return {
    currency: seed % 2 ? 'EUR' : 'usd',
    due_days: 7 + (seed % 20),
    metadata: { seed: String(seed) },
    items: Array.from({ length: count }, (_, i) => ({
      description: `Line ${i} of ${seed}`,
      amount: 100 + ((seed * 37 + i * 11) % 9_000),
      ...(i % 2 ? { quantity: 1 + ((seed + i) % 4) } : {}),
    })),
  };
}

export async function requestInvoices(
  api: string,
  customers: readonly string[],
  perCustomer: number,
): Promise<Requested[]> {
  const jobs = customers.flatMap((c, ci) =>
    Array.from({ length: perCustomer }, (_, k) => ({ c, seed: ci * perCustomer + k })),
  );
  return inPool(jobs, 16, async ({ c, seed }) => {
    const invoice = await post<Requested & { customer_id: string }>(
      `${api}/customers/${c}/invoices`,
      invoiceBody(seed),
      202,
    );
    return { id: invoice.id, customerId: c, total: invoice.total, items: invoice.items };
  });
}

/** Waits until every invoice is `open` in Postgres; resolves to how many are, when time runs out. */
export async function awaitIssued(sql: Sql, n: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ open: number }[]>`
      SELECT count(*)::int AS open FROM invoices WHERE status = 'open' AND number IS NOT NULL`;
    if (row!.open >= n || Date.now() > deadline) return row!.open;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The invoices Postgres does not show issued, each with its status and whether its customer is
 * linked to Stripe yet (an invoice waits for that): for a failure's message.
 */
export async function unissued(sql: Sql): Promise<string[]> {
  const rows = await sql<{ id: string; status: string; customer_id: string; linked: boolean }[]>`
    SELECT i.id, i.status, i.customer_id, l.external_id IS NOT NULL AS linked
    FROM invoices i
    LEFT JOIN customer_links l ON l.customer_id = i.customer_id AND l.target = 'stripe'
    WHERE i.status <> 'open' OR i.number IS NULL
    ORDER BY i.customer_id, i.id`;
  return rows.map(
    (r) => `${r.id} ${r.status}, customer ${r.customer_id} ${r.linked ? 'linked' : 'not linked'}`,
  );
}

/** What Stripe holds against what was requested; `problems` is empty when all is exactly once. */
export async function stripeReport(
  stripe: Stripe,
  sql: Sql,
  requested: readonly Requested[],
): Promise<{ invoices: number; items: number; problems: string[] }> {
  const problems: string[] = [];
  const invoices = new Map<string, Stripe.Invoice[]>();
  let invoiceCount = 0;
  for await (const inv of stripe.invoices.list({ limit: 100 })) {
    invoiceCount++;
    const id = inv.metadata?.rtws_invoice_id ?? '';
    invoices.set(id, [...(invoices.get(id) ?? []), inv]);
  }
  const itemsByInvoice = new Map<string, Stripe.InvoiceItem[]>();
  let itemCount = 0;
  for await (const item of stripe.invoiceItems.list({ limit: 100 })) {
    itemCount++;
    if (!item.invoice) problems.push(`item ${item.id} is pending, on no invoice`);
    const on = typeof item.invoice === 'string' ? item.invoice : (item.invoice?.id ?? '');
    itemsByInvoice.set(on, [...(itemsByInvoice.get(on) ?? []), item]);
  }
  const rows = new Map(
    (
      await sql<
        {
          id: string;
          stripe_invoice_id: string | null;
          number: string | null;
          hosted_invoice_url: string | null;
        }[]
      >`
        SELECT id, stripe_invoice_id, number, hosted_invoice_url FROM invoices`
    ).map((r) => [r.id, r]),
  );
  for (const r of requested) {
    const found = invoices.get(r.id) ?? [];
    if (found.length !== 1) {
      problems.push(`${r.id}: ${found.length} Stripe invoices`);
      continue;
    }
    const inv = found[0]!;
    const lines = itemsByInvoice.get(inv.id) ?? [];
    if (inv.status !== 'open') problems.push(`${r.id}: ${inv.status}`);
    if (inv.total !== r.total) problems.push(`${r.id}: total ${inv.total}, expected ${r.total}`);
    if (lines.length !== r.items.length)
      problems.push(`${r.id}: ${lines.length} items, expected ${r.items.length}`);
    if (lines.some((l) => l.metadata?.rtws_invoice_id !== r.id))
      problems.push(`${r.id}: carries another invoice's item`);
    const row = rows.get(r.id);
    if (
      row?.stripe_invoice_id !== inv.id ||
      row.number !== inv.number ||
      row.hosted_invoice_url !== inv.hosted_invoice_url
    )
      problems.push(`${r.id}: Postgres has ${JSON.stringify(row)}, Stripe ${inv.id} ${inv.number}`);
  }
  if (invoiceCount !== requested.length)
    problems.push(`${invoiceCount} Stripe invoices for ${requested.length} requested`);
  const expectedItems = requested.reduce((n, r) => n + r.items.length, 0);
  if (itemCount !== expectedItems) problems.push(`${itemCount} items, expected ${expectedItems}`);
  return { invoices: invoiceCount, items: itemCount, problems };
}

export interface IssuingStack {
  readonly t: TestEnvironment;
  readonly side: StripeSide;
  /** rtws in this process, with `roles`. */
  readonly rtws: Rtws;
  close(): Promise<void>;
}

/** A namespace and database, a Stripe emulator, and rtws pointed at them. */
export async function issuingStack(roles = 'api,publisher,worker'): Promise<IssuingStack> {
  const t = await testEnvironment();
  const side = await stripeSide();
  const rtws = await startTestRtws(t, side.env({ RTWS_ROLES: roles })).catch(async (err) => {
    await side.emulator.close();
    await t.cleanup();
    throw err;
  });
  return {
    t,
    side,
    rtws,
    async close() {
      await rtws.close();
      await side.emulator.close();
      await t.cleanup();
    },
  };
}
