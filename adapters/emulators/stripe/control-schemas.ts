import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

const Method = Type.Optional(Type.String({ description: 'HTTP method or * (default *)' }));

export const FaultRuleSchema = Type.Object(
  {
    method: Method,
    path: Type.String({ description: 'request path; * matches any characters' }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    count: Type.Optional(Type.Integer({ minimum: 1 })),
    phase: Type.Optional(Type.Union([Type.Literal('before'), Type.Literal('after')])),
    shouldRetry: Type.Optional(Type.Boolean()),
    error: Type.Optional(
      Type.Object({
        type: Type.Optional(
          Type.Union([
            Type.Literal('api_error'),
            Type.Literal('card_error'),
            Type.Literal('idempotency_error'),
            Type.Literal('invalid_request_error'),
          ]),
        ),
        message: Type.Optional(Type.String()),
        code: Type.Optional(Type.String()),
        param: Type.Optional(Type.String()),
      }),
    ),
  },
  { additionalProperties: false },
);

export const DelayRuleSchema = Type.Object(
  {
    method: Method,
    path: Type.String(),
    ms: Type.Integer({ minimum: 0 }),
    count: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const RateLimitSchema = Type.Object(
  { rps: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]) },
  { additionalProperties: false },
);
export const ClockSchema = Type.Object(
  { offsetMs: Type.Number() },
  { additionalProperties: false },
);
export const SearchLagSchema = Type.Object(
  { ms: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
export const EndpointSchema = Type.Object(
  {
    url: Type.String(),
    secret: Type.Optional(Type.String()),
    enabledEvents: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);
export const WebhookConfigSchema = Type.Object(
  {
    duplicate: Type.Optional(Type.Boolean()),
    delayMs: Type.Optional(Type.Integer({ minimum: 0 })),
    reorderWindow: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export const FlushSchema = Type.Object(
  { timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);

export type EndpointBody = Static<typeof EndpointSchema>;
