import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  Customer,
  CustomerCreateBody,
  CustomerId,
  CustomerPatchBody,
} from '../../../core/customer.ts';
import { Nullable } from '../../../core/nullable.ts';
import { customerRepository } from '../../postgres/customers.ts';
import { withIdempotency } from '../../postgres/idempotency.ts';
import type { Sql } from '../../postgres/connect.ts';
import {
  IdempotencyKeyHeader,
  ProblemResponses,
  idempotencyKey,
  parseIfMatch,
  PageQuery,
} from './common.ts';

export interface CustomerRoutesOptions {
  sql: Sql;
}

const Params = Type.Object({ id: CustomerId });
const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ pattern: '^\\s*(W/)?"?\\d{1,15}"?\\s*$' })),
});

export const customerRoutes: FastifyPluginAsyncTypebox<CustomerRoutesOptions> = async (
  app,
  { sql },
) => {
  const customers = customerRepository(sql);

  app.post(
    '/customers',
    {
      schema: {
        tags: ['customers'],
        summary: 'Create a customer',
        body: CustomerCreateBody,
        headers: IdempotencyKeyHeader,
        response: { 201: Customer, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const result = await withIdempotency(
        sql,
        'POST /customers',
        idempotencyKey(request.headers),
        request.body,
        async (tx) => ({
          status: 201,
          body: await customers.create(request.body, tx, request.id),
        }),
      );
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      const customer = result.body as Customer;
      return reply
        .code(result.status)
        .header('etag', `"${customer.version}"`)
        .header('location', `/customers/${customer.id}`)
        .send(customer);
    },
  );

  app.get(
    '/customers',
    {
      schema: {
        tags: ['customers'],
        summary: 'List customers, or search them by id, email or name (`q`)',
        querystring: PageQuery(CustomerId, {
          defaultLimit: 20,
          filters: {
            email: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 254,
                description: 'The whole email, in any case.',
              }),
            ),
            /** Search: the id (exact), the email (case-insensitive prefix) or the name (substring). */
            q: Type.Optional(Type.String({ minLength: 1, maxLength: 254, pattern: '\\S' })),
          },
        }),
        response: {
          200: Type.Object({ data: Type.Array(Customer), next_cursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => customers.list(request.query),
  );

  app.get(
    '/customers/:id',
    {
      schema: {
        tags: ['customers'],
        summary: 'Get a customer',
        params: Params,
        response: { 200: Customer, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const customer = await customers.get(request.params.id);
      return reply.header('etag', `"${customer.version}"`).send(customer);
    },
  );

  app.patch(
    '/customers/:id',
    {
      schema: {
        tags: ['customers'],
        summary: 'Change a customer',
        params: Params,
        headers: IfMatchHeaders,
        body: CustomerPatchBody,
        response: { 200: Customer, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const customer = await customers.patch(
        request.params.id,
        request.body,
        parseIfMatch(request.headers['if-match']),
        request.id,
      );
      return reply.header('etag', `"${customer.version}"`).send(customer);
    },
  );

  app.delete(
    '/customers/:id',
    {
      schema: {
        tags: ['customers'],
        summary: 'Delete a customer',
        params: Params,
        headers: IfMatchHeaders,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await customers.remove(
        request.params.id,
        parseIfMatch(request.headers['if-match']),
        request.id,
      );
      return reply.code(204).send(null);
    },
  );
};
