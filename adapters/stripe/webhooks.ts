// Stripe webhook verification: the official SDK checks the signature over the raw bytes, then a
// TypeBox schema checks the little of the event that rtws relies on before publishing it.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import Stripe from 'stripe';
import { RtwsError, ValidationError } from '../../core/errors.ts';
import type { Logger } from '../../core/ports.ts';

/** Stripe's own default: a signature older than this is refused, which bounds replays. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** The fields rtws relies on; everything else in the event passes through untouched. */
export const StripeEventEnvelope = Type.Object({
  id: Type.String({ pattern: '^evt_[A-Za-z0-9_]+$', maxLength: 255 }),
  // The type becomes NATS subject tokens, so only dotted lower-case words are let through.
  type: Type.String({ pattern: '^[a-z0-9_]+(\\.[a-z0-9_]+)*$', maxLength: 200 }),
  created: Type.Integer({ minimum: 0 }),
  api_version: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  data: Type.Object({ object: Type.Object({}) }),
});
export type StripeEventEnvelope = Static<typeof StripeEventEnvelope>;

const envelope = TypeCompiler.Compile(StripeEventEnvelope);

/** No configured secret produced the header's signature, the header is missing, or it is stale. */
export class WebhookSignatureError extends RtwsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

/** Correctly signed, but not an event rtws can use. */
export class MalformedWebhookError extends ValidationError {}

/** A missing secret list would refuse every delivery; that is a configuration mistake. */
export class WebhookSecretsMissingError extends RtwsError {
  constructor() {
    super('config_invalid', 'at least one Stripe webhook signing secret is required');
  }
}

function isStale(err: Error): boolean {
  return /tolerance/i.test(err.message);
}

/** Verifies against each secret in turn (rotation); the first match wins. */
function constructWithAnySecret(raw: Buffer, header: string, secrets: readonly string[]): unknown {
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(raw, header, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (err) {
      if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) {
        // The signature matched; what failed is the body itself. JSON.parse quotes the input in
        // its message, so the message stays fixed: bodies hold customer data and must not be logged.
        const detail =
          err instanceof SyntaxError
            ? 'the signed body is not JSON'
            : 'the signed body is not a Stripe snapshot event';
        throw new MalformedWebhookError(detail, 'body');
      }
      // A stale timestamp is only reported once the signature matched, so no other secret helps.
      if (isStale(err))
        throw new WebhookSignatureError(
          `the signature is older than ${SIGNATURE_TOLERANCE_SECONDS} s`,
        );
    }
  }
  throw new WebhookSignatureError('no signature in Stripe-Signature matches a configured secret');
}

function checkEnvelope(value: unknown): StripeEventEnvelope {
  if (envelope.Check(value)) return value;
  const first = envelope.Errors(value).First();
  const field = first?.path.split('/').filter(Boolean).join('.') ?? '';
  const detail = field
    ? `${field}: ${first?.message ?? 'is invalid'}`
    : 'the body must be a JSON object';
  throw new MalformedWebhookError(`the event is malformed (${detail})`, field || 'body');
}

/**
 * Verifies a delivery and returns its envelope. Throws `WebhookSignatureError` (bad, missing or
 * stale signature) or `MalformedWebhookError` (signed, but not a usable event).
 */
export function verifyStripeWebhook(
  raw: Buffer | undefined,
  header: string | string[] | undefined,
  secrets: readonly string[],
): StripeEventEnvelope {
  if (typeof header !== 'string' || header.length === 0) {
    throw new WebhookSignatureError('the Stripe-Signature header is missing');
  }
  if (!raw || raw.length === 0) throw new WebhookSignatureError('the body is empty');
  return checkEnvelope(constructWithAnySecret(raw, header, secrets));
}

/** `customer.*` and `invoice.*` of two tokens: the types INBOUND's consumers read. */
const HANDLED = /^(customer|invoice)\.[a-z_]+$/;

/**
 * Customer and invoice events are published; the rest are acknowledged and dropped. That includes
 * the three-token types about a customer's parts (`customer.source.created`,
 * `customer.subscription.updated`) and invoice items: no consumer reads them, so storing them
 * would only keep a person's data in INBOUND where nothing looks for it (an erasure included).
 */
export function isHandledEventType(type: string): boolean {
  return HANDLED.test(type);
}

/**
 * Warns once per distinct foreign `api_version`: a version drift is worth one line, not one per
 * event. The set is capped so that it stays small whatever arrives.
 */
export function apiVersionWatch(
  expected: string,
  log: Logger,
  maxRemembered = 32,
): (event: StripeEventEnvelope) => void {
  const seen = new Set<string>();
  return (event) => {
    const version = event.api_version;
    if (typeof version !== 'string' || version === expected || seen.has(version)) return;
    if (seen.size >= maxRemembered) return;
    seen.add(version);
    log.warn(
      { api_version: version, expected, event_id: event.id, type: event.type },
      'Stripe webhook api_version differs from the pinned version',
    );
  };
}

/** Ahead of Stripe's clock by more than this, the catch-up's margin may not cover the gap. */
const CLOCK_AHEAD_WARN_MS = 30_000;
/** Said again at most this often while it lasts. */
const CLOCK_WARN_EVERY_MS = 10 * 60_000;

/**
 * Watches this machine's clock against Stripe's, as each verified delivery's signature shows it
 * (`t=`, Stripe's time at signing; a retry is signed anew). The catch-up lists events from its
 * watermark, kept in this clock, less RTWS_CATCHUP_MARGIN_S: a clock running ahead of Stripe's by
 * more than that would skip events created in between. Said in the log, not acted on.
 */
export function clockWatch(log: Logger, now: () => number = Date.now) {
  let warnedAt = -Infinity;
  return (signatureHeader: string | string[] | undefined): void => {
    const header = Array.isArray(signatureHeader) ? signatureHeader[0] : signatureHeader;
    const signed = /(?:^|,)\s*t=(\d+)/.exec(header ?? '');
    if (!signed) return;
    const aheadMs = now() - Number(signed[1]) * 1000;
    if (aheadMs <= CLOCK_AHEAD_WARN_MS || now() - warnedAt < CLOCK_WARN_EVERY_MS) return;
    warnedAt = now();
    log.warn(
      { ahead_s: Math.round(aheadMs / 1000) },
      "this machine's clock is ahead of Stripe's: the catch-up may skip events created meanwhile; set the clock right (NTP)",
    );
  };
}
