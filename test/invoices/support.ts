// Shared by the invoice suites: a customer to bill, a valid request, and what "nothing written" is
// checked against.
import type { FastifyInstance } from 'fastify';
import type { Sql } from '../../adapters/postgres/connect.ts';
import { authHeaders } from '../harness/rtws.ts';

export const validRequest = () => ({
  currency: 'EUR',
  items: [
    { description: 'Consulting, November', amount: 12_500, quantity: 8 },
    { description: 'Travel', amount: 4_200 },
  ],
  due_days: 14,
  metadata: { order: 'A-17' },
});

export async function newCustomer(app: FastifyInstance, name = 'Ada'): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/customers',
    headers: authHeaders(),
    payload: { name },
  });
  if (res.statusCode !== 201) throw new Error(`customer not created: ${res.body}`);
  return res.json<{ id: string }>().id;
}

export function postInvoice(
  app: FastifyInstance,
  customerId: string,
  payload: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: `/customers/${customerId}/invoices`,
    headers: { ...authHeaders(), ...headers },
    payload: payload as object,
  });
}

/** Rows of every table an invoice request writes. */
export async function invoiceFootprint(sql: Sql): Promise<Record<string, number>> {
  const [r] = await sql<Record<string, number>[]>`
    SELECT (SELECT count(*)::int FROM invoices) AS invoices,
           (SELECT count(*)::int FROM invoice_items) AS items,
           (SELECT count(*)::int FROM invoice_history) AS history,
           (SELECT count(*)::int FROM outbox) AS outbox,
           (SELECT count(*)::int FROM idempotency_keys) AS keys`;
  return { ...r! };
}

export async function deleteCustomer(app: FastifyInstance, id: string): Promise<void> {
  const { authorization } = authHeaders();
  const res = await app.inject({
    method: 'DELETE',
    url: `/customers/${id}`,
    headers: { authorization },
  });
  if (res.statusCode !== 204) throw new Error(`customer not deleted: ${res.body}`);
}
