import { createHmac } from 'node:crypto';

/**
 * The `Stripe-Signature` header for a payload: HMAC-SHA256 over `${t}.${body}` keyed with the whole
 * `whsec_` secret, exactly what `stripe.webhooks.constructEvent` recomputes.
 */
export function signatureHeader(body: string, secret: string, timestampSeconds: number): string {
  const v1 = createHmac('sha256', secret)
    .update(`${timestampSeconds}.${body}`, 'utf8')
    .digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}
