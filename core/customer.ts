// The customer as rtws syncs it. One set of TypeBox schemas serves the HTTP bodies, the NATS
// payloads and the canonical comparisons.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './nullable.ts';

/** Stripe's six address keys. */
export const ADDRESS_KEYS = ['line1', 'line2', 'city', 'state', 'postal_code', 'country'] as const;

export const Address = Type.Object(
  {
    line1: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    line2: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    city: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    state: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
    postal_code: Type.Optional(Nullable(Type.String({ maxLength: 40 }))),
    country: Type.Optional(Nullable(Type.String({ maxLength: 2 }))),
  },
  { additionalProperties: false },
);
export type Address = Static<typeof Address>;

/** Stripe allows 50 metadata keys; rtws keeps one of them (`rtws_id`) for itself. */
export const METADATA_MAX_KEYS = 49;
export const RESERVED_METADATA_KEYS = ['rtws_id'] as const;

// Stripe's key rules: at most 40 characters, no square brackets (they are its form syntax).
const propertyNames = { minLength: 1, maxLength: 40, pattern: '^[^\\[\\]]+$' };

export const Metadata = Type.Record(Type.String(), Type.String({ maxLength: 500 }), {
  maxProperties: METADATA_MAX_KEYS,
  propertyNames,
});
export type Metadata = Static<typeof Metadata>;

/** A metadata patch: a null value removes the key. */
export const MetadataPatch = Type.Record(Type.String(), Nullable(Type.String({ maxLength: 500 })), {
  maxProperties: METADATA_MAX_KEYS,
  propertyNames,
});
export type MetadataPatch = Static<typeof MetadataPatch>;

export const Email = Type.String({
  maxLength: 254,
  // Deliberately plain: one @, no spaces, a dot in the domain. Stripe's own check is similar.
  pattern: '^\\s*[^\\s@]+@[^\\s@]+\\.[^\\s@]+\\s*$',
});

const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '\\S' });
const Phone = Type.String({ maxLength: 40 });

/** The fields rtws keeps equal across Postgres, Stripe and Salesforce. */
export const SyncedFields = Type.Object(
  {
    name: Type.String(),
    email: Nullable(Type.String()),
    phone: Nullable(Type.String()),
    address: Nullable(Address),
    metadata: Type.Record(Type.String(), Type.String()),
  },
  { additionalProperties: false },
);
export type SyncedFields = Static<typeof SyncedFields>;
export const SYNCED_FIELDS = ['name', 'email', 'phone', 'address', 'metadata'] as const;
export type SyncedField = (typeof SYNCED_FIELDS)[number];

export const CustomerCreateBody = Type.Object(
  {
    name: Name,
    email: Type.Optional(Nullable(Email)),
    phone: Type.Optional(Nullable(Phone)),
    address: Type.Optional(Nullable(Address)),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type CustomerCreateBody = Static<typeof CustomerCreateBody>;

export const CustomerPatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    email: Type.Optional(Nullable(Email)),
    phone: Type.Optional(Nullable(Phone)),
    address: Type.Optional(Nullable(Address)),
    metadata: Type.Optional(MetadataPatch),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type CustomerPatchBody = Static<typeof CustomerPatchBody>;

export const CustomerId = Type.String({ format: 'uuid' });

export const Customer = Type.Object({
  id: Type.String(),
  object: Type.Literal('customer'),
  name: Type.String(),
  email: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  address: Nullable(Address),
  metadata: Type.Record(Type.String(), Type.String()),
  version: Type.Integer(),
  origin: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  /** External ids per target, once linked: `{ "stripe": "cus_…", "salesforce": "001…" }`. */
  links: Type.Record(Type.String(), Type.String()),
});
export type Customer = Static<typeof Customer>;
