// Client retries of POST requests. The key row is inserted in the same transaction as the work it
// guards: a concurrent duplicate waits on the key's row lock and then replays the committed
// response; a request that fails saves nothing, so its key can be retried.
import { createHash } from 'node:crypto';
import { IdempotencyKeyErasedError, IdempotencyKeyReusedError } from '../../core/errors.ts';
import type { Sql, Tx } from './connect.ts';

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** Keys are kept this long, as Stripe does. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/**
 * The request hash of a key whose answer held a customer since erased (no SHA-256 is this): the
 * erasure clears the answer and the hash (of the person's fields) and keeps the key, so that a
 * retry is refused rather than run again.
 */
export const ERASED_REQUEST = 'erased';

function requestHash(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(body ?? null))
    .digest('hex');
}

export async function withIdempotency(
  sql: Sql,
  scope: string,
  key: string | undefined,
  /** What the key guards: a retry with the same key must send the same. */
  request: unknown,
  work: (tx: Tx) => Promise<{ status: number; body: unknown }>,
): Promise<StoredResponse> {
  if (key === undefined) {
    // No key to claim: the work runs as it is, a single statement needs no BEGIN/COMMIT (two
    // round trips fewer on the API's hottest path). Work of several statements opens its own.
    return { ...(await work(sql)), replayed: false };
  }
  // A key's request is compared by its hash; a request without one is never hashed.
  const hash = requestHash(request);
  return sql.begin(async (tx) => {
    const claimed = await tx`
      INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (${scope}, ${key}, ${hash})
      ON CONFLICT (scope, key) DO NOTHING RETURNING 1`;
    if (claimed.length === 0) {
      const [prior] = await tx<
        { request_hash: string; status: number; body: unknown; expired: boolean }[]
      >`
        SELECT request_hash, status, body,
               created_at < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS}) AS expired
        FROM idempotency_keys WHERE scope = ${scope} AND key = ${key}`;
      if (prior && !prior.expired) {
        if (prior.request_hash === ERASED_REQUEST) throw new IdempotencyKeyErasedError();
        if (prior.request_hash !== hash) throw new IdempotencyKeyReusedError();
        return { status: prior.status, body: prior.body, replayed: true };
      }
      // An expired key is a fresh one.
      await tx`
        UPDATE idempotency_keys SET request_hash = ${hash}, created_at = now(), status = NULL, body = NULL
        WHERE scope = ${scope} AND key = ${key}`;
    }
    const result = await work(tx);
    await tx`
      UPDATE idempotency_keys SET status = ${result.status}, body = ${tx.json(result.body as never)}
      WHERE scope = ${scope} AND key = ${key}`;
    return { ...result, replayed: false };
  });
}

/** Housekeeping: drops keys past their lifetime. */
export async function pruneIdempotencyKeys(sql: Sql): Promise<number> {
  const r = await sql`
    DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => ${IDEMPOTENCY_TTL_HOURS})`;
  return r.count;
}
