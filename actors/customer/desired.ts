// Which facts the actor accepts, and the desired content they set.
import {
  canonicalFields,
  ownValue,
  sameValue,
  type CanonicalFields,
} from '../../core/canonical.ts';
import { SCALAR_FIELDS } from '../../core/policy/push.ts';
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
  const fields = canonicalFields(fact.data);
  return {
    version: Math.max(fact.metadata.version, previous?.version ?? 0),
    fields,
    changedAt: changedAt(
      fields,
      Math.floor(Date.parse(fact.metadata.occurred_at) / 1000),
      previous,
    ),
    deleted: fact.type === 'CustomerDeleted',
    origin: fact.metadata.origin,
    bornOn: bornOn(fact, previous),
    occurredAt: fact.metadata.occurred_at,
    at: fact.at,
    ...(fact.correlation === undefined ? {} : { correlationId: fact.correlation }),
  };
}

/** Where the customer was created: a row a restore's repair inserts again was born before. */
function bornOn(fact: CustomerFactEvent, previous: Desired | null): string | null {
  if (fact.type === 'CustomerCreated' && (previous === null || fact.metadata.origin !== 'restore'))
    return fact.metadata.origin;
  return previous?.bornOn ?? null;
}

/** The second each field last changed: this fact's for the fields it changed, else as before. */
function changedAt(
  fields: CanonicalFields,
  second: number,
  previous: Desired | null,
): Record<string, number> {
  if (previous === null) return {};
  const before = previous.fields;
  const since = (field: string) =>
    previous.changedAt?.[field] ?? Math.floor(Date.parse(previous.occurredAt) / 1000);
  const out: Record<string, number> = {};
  for (const field of SCALAR_FIELDS)
    out[field] = sameValue(before[field], fields[field]) ? since(field) : second;
  const keys = new Set([...Object.keys(before.metadata), ...Object.keys(fields.metadata)]);
  for (const key of keys) {
    const field = `metadata.${key}`;
    out[field] =
      ownValue(before.metadata, key) === ownValue(fields.metadata, key) ? since(field) : second;
  }
  return out;
}

/** When Postgres last changed a field (`name`, …, `metadata.<key>`), in seconds. */
export function changedSecond(desired: Desired, field: string): number {
  return desired.changedAt?.[field] ?? Math.floor(Date.parse(desired.occurredAt) / 1000);
}
