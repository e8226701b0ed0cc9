import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomerId } from '../../../core/customer.ts';
import { Invoice, InvoiceCreateBody } from '../../../core/invoice.ts';
import { Nullable } from '../../../core/nullable.ts';
import type { Sql } from '../../postgres/connect.ts';
import { createInvoice, getInvoice, listCustomerInvoices } from '../../postgres/invoices.ts';
import { requestInvoiceVoid } from '../../postgres/invoice-void.ts';
import { IdempotencyKeyHeader, ProblemResponses, idempotencyKey, PageQuery } from './common.ts';

export interface InvoiceRoutesOptions {
  sql: Sql;
}

const CustomerParams = Type.Object({ id: CustomerId });
const InvoiceParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const invoiceRoutes: FastifyPluginAsyncTypebox<InvoiceRoutesOptions> = async (
  app,
  { sql },
) => {
  // 202: the invoice is recorded; issuing it in Stripe happens after the answer.
  app.post(
    '/customers/:id/invoices',
    {
      schema: {
        tags: ['invoices'],
        summary: 'Request an invoice for a customer',
        params: CustomerParams,
        body: InvoiceCreateBody,
        headers: IdempotencyKeyHeader,
        response: { 202: Invoice, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { invoice, replayed } = await createInvoice(
        sql,
        request.params.id,
        request.body,
        idempotencyKey(request.headers),
        request.id,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).header('location', `/invoices/${invoice.id}`).send(invoice);
    },
  );

  app.get(
    '/invoices/:id',
    {
      schema: {
        tags: ['invoices'],
        summary: 'Get an invoice',
        params: InvoiceParams,
        response: { 200: Invoice, ...ProblemResponses },
      },
    },
    async (request) => getInvoice(sql, request.params.id),
  );

  // 202: the void is recorded; the invoice actor carries it out in Stripe after the answer.
  app.post(
    '/invoices/:id/void',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['invoices'],
        summary: 'Void an invoice (cancel it if it is not issued yet)',
        description:
          'An open or uncollectible invoice is voided in Stripe; one not finalized yet is cancelled (never created in Stripe, or its draft deleted). Its status becomes `void` once that is done; until then the history shows `void requested`. An invoice created in Stripe directly is voided the same way once open or uncollectible. A paid invoice, or a draft created in Stripe directly, is a 409.',
        params: InvoiceParams,
        headers: IdempotencyKeyHeader,
        response: { 202: Invoice, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { invoice, replayed } = await requestInvoiceVoid(
        sql,
        request.params.id,
        idempotencyKey(request.headers),
        request.id,
      );
      if (replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send(invoice);
    },
  );

  app.get(
    '/customers/:id/invoices',
    {
      schema: {
        tags: ['invoices'],
        summary: "List a customer's invoices",
        params: CustomerParams,
        querystring: PageQuery(Type.String({ format: 'uuid' }), { defaultLimit: 20 }),
        response: {
          200: Type.Object({ data: Type.Array(Invoice), next_cursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => listCustomerInvoices(sql, request.params.id, request.query),
  );
};
