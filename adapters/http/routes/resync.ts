// POST /customers/:id/resync: offers one customer to its actor again for every configured target,
// through the actor (a target never asked creates or links it; a synced one pushes what differs).
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CustomerId } from '../../../core/customer.ts';
import { NotFoundError } from '../../../core/errors.ts';
import { ProblemResponses } from './common.ts';

export interface ResyncRoutesOptions {
  /** Resolves to false when there is no such live customer; `correlationId`: the request's id. */
  resync: (customerId: string, correlationId?: string) => Promise<boolean>;
  /** The targets a resync offers the customer to. */
  targets: readonly string[];
}

export const resyncRoutes: FastifyPluginAsyncTypebox<ResyncRoutesOptions> = async (
  app,
  { resync, targets },
) => {
  app.post(
    '/customers/:id/resync',
    {
      config: { scope: 'operate' },
      schema: {
        tags: ['operations'],
        summary: 'Offer a customer to every target again',
        params: Type.Object({ id: CustomerId }),
        response: {
          202: Type.Object({ customer_id: Type.String(), targets: Type.Array(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      if (!(await resync(id, request.id))) throw new NotFoundError('customer');
      return reply.code(202).send({ customer_id: id, targets: [...targets] });
    },
  );
};
