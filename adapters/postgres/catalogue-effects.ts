// The worker's writes to the catalogue: links, and deletions that happened on a target.
import type { Logger } from '../../core/ports.ts';
import type { Sql } from './connect.ts';
import { recordLink } from './links.ts';
import type { CatalogueApply } from '../../actors/customer/index.ts';
import { PermanentApplyError } from '../../core/errors.ts';
import { applyFromStripe, isPlainInsert, type ApplyResult } from './inbound-apply.ts';
import { insertBatches } from './insert-batches.ts';

/** SQLSTATE classes of errors in the data itself: 22 data exception, 23 integrity violation. */
const PERMANENT = /^2[23]/;

export interface CatalogueEffectsOptions {
  /** Told of each write made for changes seen in Stripe (not of repeats the inbox skipped). */
  onApplied?: (apply: CatalogueApply) => void;
  /** Where a batch of inserts that failed (and was carried out one by one) is reported. */
  log?: Pick<Logger, 'warn'>;
}

export function catalogueEffects(sql: Sql, options: CatalogueEffectsOptions = {}) {
  // Plain inserts asked for at about the same time share a statement and a commit.
  const inserts = insertBatches(sql, options.log ? { log: options.log } : {});
  return {
    recordLink: (customerId: string, target: string, externalId: string) =>
      recordLink(sql, customerId, target, externalId),
    async applyFromStripe(customerId: string, apply: CatalogueApply): Promise<ApplyResult> {
      try {
        const result = isPlainInsert(apply)
          ? await inserts({ customerId, apply, fields: apply.fields })
          : await applyFromStripe(sql, customerId, apply);
        if (result.applied) options.onApplied?.(apply);
        return result;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && PERMANENT.test(code))
          throw new PermanentApplyError(`${code}: ${(err as Error).message}`, { cause: err });
        throw err;
      }
    },
  };
}
