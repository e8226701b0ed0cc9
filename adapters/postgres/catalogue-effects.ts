// The worker's writes to the catalogue: links, and deletions that happened on a target.
import type { Sql } from './connect.ts';
import { recordLink } from './links.ts';

export function catalogueEffects(sql: Sql) {
  return {
    recordLink: (customerId: string, target: string, externalId: string) =>
      recordLink(sql, customerId, target, externalId),
    /** Soft-deletes with the target as origin, so the deletion reaches every other target. */
    async deleteFromTarget(customerId: string, target: string): Promise<void> {
      await sql.begin(async (tx) => {
        await tx`SELECT set_config('rtws.origin', ${target}, true)`;
        await tx`UPDATE customers SET deleted_at = now() WHERE id = ${customerId} AND deleted_at IS NULL`;
      });
    },
  };
}
