import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEF0123456789';

// One random pool refilled in bulk: ids are minted on every write, and a crypto call per id costs.
let pool = randomBytes(4096);
let cursor = 0;

function randomByte(): number {
  if (cursor >= pool.length) {
    pool = randomBytes(4096);
    cursor = 0;
  }
  return pool[cursor++]!;
}

export function randomString(length: number, alphabet = ALNUM): string {
  let out = '';
  // Bytes past the largest multiple of the alphabet size are skipped, so no character is favoured.
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    const b = randomByte();
    if (b < limit) out += alphabet[b % alphabet.length];
  }
  return out;
}

/** Stripe-looking ids: `cus_` + 14 characters, the others + 24 like `in_1Pgc6tB7WZ01zgkWu9fdqL6I`. */
export function newId(prefix: string): string {
  return `${prefix}_${randomString(prefix === 'cus' ? 14 : 24)}`;
}

export function newInvoicePrefix(): string {
  return randomString(8, UPPER_ALNUM);
}

export function newWebhookSecret(): string {
  return `whsec_${randomString(32)}`;
}
