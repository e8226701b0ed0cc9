import { Type, type TProperties, type TSchema } from '@sinclair/typebox';

export const IdempotencyKeyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});

/** RFC 9457: the members every problem has; client errors add `detail`, `field`, `code` and more. */
export const ProblemBody = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer() },
  { additionalProperties: true },
);

/** A problem answer under its own media type, so that the spec says what the server sends. */
export const ProblemResponse = {
  description: 'A problem (RFC 9457)',
  content: { 'application/problem+json': { schema: ProblemBody } },
};

/** Declared so that problem bodies are serialised whole, not filtered by a 2xx schema. */
export const ProblemResponses = { '4xx': ProblemResponse, '5xx': ProblemResponse };

export function idempotencyKey(headers: Record<string, unknown>): string | undefined {
  const k = headers['idempotency-key'];
  return typeof k === 'string' ? k : undefined;
}

/** `If-Match: 3`, `"3"` or `W/"3"` → 3. The schema has already checked the form. */
export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return Number(value.replace(/[^\d]/g, ''));
}

/** A listing's querystring: `limit` (1 to 100), an opaque `cursor` of the given form, and filters. */
export function PageQuery<C extends TSchema, F extends TProperties = Record<never, TSchema>>(
  cursor: C,
  o: { defaultLimit: number; filters?: F },
) {
  const page = {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: o.defaultLimit }),
    cursor: Type.Optional(cursor),
  };
  return Type.Object(Object.assign(page, o.filters ?? ({} as F)), { additionalProperties: false });
}
