// Idempotency keys. The `rtws-` prefix is what marks a target's webhook as the echo of our own
// write, so every key rtws sends starts with it.

export const KEY_PREFIX = 'rtws-';

/**
 * `rtws-<customerId>-create` for the first create, `…-create-a<n>` once a lookup proved an earlier
 * create absent: the version is left out so that every resend of one create reuses its key.
 */
export function createKey(customerId: string, n: number): string {
  const base = `${KEY_PREFIX}${customerId}-create`;
  return n <= 1 ? base : `${base}-a${n}`;
}

/**
 * `rtws-<customerId>-<version>-update`, with `-r<n>` when a version is pushed again (Stripe's side
 * changed since the version was synced, or `rtws_id` is restored), and `-a<attempt>` on resends after a 5xx: Stripe replays a
 * saved post-commit 500 under its key for 24 h, so a same-key resend could never succeed, and an
 * update sets absolute values, so applying it twice is harmless.
 */
export function updateKey(customerId: string, version: number, attempt = 1, round = 1): string {
  const base = `${KEY_PREFIX}${customerId}-${version}-update${round > 1 ? `-r${round}` : ''}`;
  return withAttempt(base, attempt);
}

/** The same key for another attempt: `-a<attempt>` replaces any earlier attempt suffix. */
export function withAttempt(key: string, attempt: number): string {
  const base = key.replace(/-a\d+$/, '');
  return attempt <= 1 ? base : `${base}-a${attempt}`;
}
