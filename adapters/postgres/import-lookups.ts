// What an import from Stripe asks the catalogue about a page of Stripe objects: one query per
// question for the whole page, rather than one per object.
import type { Sql } from './connect.ts';

/** The Stripe customer ids among these that are linked to a catalogue customer. */
export async function linkedStripeIds(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  const rows = await sql<{ external_id: string }[]>`
    SELECT external_id FROM customer_links
    WHERE target = 'stripe' AND external_id = ANY(${sql.array([...ids])})`;
  return new Set(rows.map((r) => r.external_id));
}

/** The ids (UUIDs) among these that name a live catalogue customer. */
export async function liveCustomerIds(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM customers WHERE id = ANY(${sql.array([...ids])}::uuid[]) AND deleted_at IS NULL`;
  return new Set(rows.map((r) => r.id));
}

/** The emails (lower-cased) among these that a live catalogue customer has. */
export async function catalogueEmails(sql: Sql, emails: readonly string[]): Promise<Set<string>> {
  const rows = await sql<{ email: string }[]>`
    SELECT DISTINCT lower(email) AS email FROM customers
    WHERE lower(email) = ANY(${sql.array([...emails])}) AND deleted_at IS NULL`;
  return new Set(rows.map((r) => r.email));
}

/** The live catalogue customers with this email (lower-cased) that no Stripe customer is linked to. */
export async function unlinkedCustomersWithEmail(sql: Sql, email: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    SELECT c.id FROM customers c
    WHERE lower(c.email) = ${email} AND c.deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM customer_links l WHERE l.customer_id = c.id AND l.target = 'stripe')`;
  return rows.map((r) => r.id);
}

/** The Stripe invoice ids among these that are recorded already. */
export async function recordedStripeInvoices(
  sql: Sql,
  ids: readonly string[],
): Promise<Set<string>> {
  const rows = await sql<{ stripe_invoice_id: string }[]>`
    SELECT stripe_invoice_id FROM invoices WHERE stripe_invoice_id = ANY(${sql.array([...ids])})`;
  return new Set(rows.map((r) => r.stripe_invoice_id));
}

/** The ids (UUIDs) among these that name an invoice of this catalogue. */
export async function ourInvoiceIds(sql: Sql, ids: readonly string[]): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM invoices WHERE id = ANY(${sql.array([...ids])}::uuid[])`;
  return new Set(rows.map((r) => r.id));
}
