// TypeBox schemas for the canonical values the actor stores and exchanges with executors, so the
// runtime can validate what it loads from KV and what executors report.
import { Type, type TProperties } from '@sinclair/typebox';
import { Nullable } from '../../core/nullable.ts';
import { FAILURE_KINDS } from '../../core/policy/retry.ts';

/** Stripe's six keys, each present (null when empty), as `canonicalAddress` produces them. */
export const CanonicalAddressSchema = Type.Object(
  {
    line1: Nullable(Type.String()),
    line2: Nullable(Type.String()),
    city: Nullable(Type.String()),
    state: Nullable(Type.String()),
    postal_code: Nullable(Type.String()),
    country: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

/** Mirrors `CanonicalFields` in core/canonical.ts. */
export const CanonicalFieldsSchema = Type.Object(
  {
    name: Type.String(),
    email: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    address: Nullable(CanonicalAddressSchema),
    metadata: Type.Record(Type.String(), Type.String()),
  },
  { additionalProperties: false },
);

/** Mirrors `FieldPatch` in core/policy/push.ts: only changed fields; a null metadata value unsets the key. */
export const FieldPatchSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    email: Type.Optional(Nullable(Type.String())),
    phone: Type.Optional(Nullable(Type.String())),
    address: Type.Optional(Nullable(CanonicalAddressSchema)),
    metadata: Type.Optional(Type.Record(Type.String(), Nullable(Type.String()))),
  },
  { additionalProperties: false },
);

export const FailureKindSchema = Type.Union(FAILURE_KINDS.map((k) => Type.Literal(k)));

/** Milliseconds since the epoch, recorded by the runtime when it created the event. */
export const At = Type.Number({ minimum: 0 });

/**
 * What caused the event (an API request's id, a Stripe event's id): read from the recorded
 * message's header, never made up, so a rebuild sees the same. Absent on older messages.
 */
export const Correlation = Type.Optional(Type.String());

/** `{ correlation }` when there is one, else nothing: events without one stay as they were. */
export function withCorrelation(correlation: string | undefined): { correlation?: string } {
  return correlation === undefined ? {} : { correlation };
}

/**
 * A recorded event (an executor's outcome, an operator's request) as the actor consumes it: the
 * message's `{ type, data }`, like a fact's, plus `at` and its `correlation`. Its `metadata` (which
 * actor, which Stripe account) is checked when the message is read and not kept.
 */
export function recordedEvent<const T extends string, P extends TProperties>(type: T, data: P) {
  return Type.Object({
    type: Type.Literal(type),
    data: Type.Object(data),
    at: At,
    correlation: Correlation,
  });
}
