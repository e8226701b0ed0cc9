// Which facts the actor accepts, and the desired content they set.
import { canonicalFields } from '../../core/canonical.ts';
import type { Desired } from './context.ts';
import type { CustomerFactEvent } from './events.ts';

/**
 * A fact is accepted when it is about this customer and newer than the desired version. A stale
 * or redelivered fact changes nothing. Delete beats edit: once deleted, nothing later counts, and
 * a delete counts even when its version is not newer.
 */
export function acceptsFact(
  customerId: string,
  desired: Desired | null,
  fact: CustomerFactEvent,
): boolean {
  if (fact.metadata.customer_id !== customerId) return false;
  if (desired === null) return true;
  if (desired.deleted) return false;
  return fact.type === 'CustomerDeleted' || fact.metadata.version > desired.version;
}

/** A delete that is not newer keeps the version, which never goes backwards. */
export function desiredFrom(fact: CustomerFactEvent, previous: Desired | null): Desired {
  return {
    version: Math.max(fact.metadata.version, previous?.version ?? 0),
    fields: canonicalFields(fact.data),
    deleted: fact.type === 'CustomerDeleted',
    origin: fact.metadata.origin,
    bornOn: fact.type === 'CustomerCreated' ? fact.metadata.origin : (previous?.bornOn ?? null),
    occurredAt: fact.metadata.occurred_at,
    at: fact.at,
  };
}
