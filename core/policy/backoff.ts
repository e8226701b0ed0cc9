// Retry delays. Jitter is derived from the intent's key and attempt rather than Math.random, so
// replaying the recorded events schedules every retry at exactly the same instant.

/** A capped exponential backoff. */
export interface BackoffPolicy {
  /** The delay before the second attempt, in ms. */
  readonly baseMs: number;
  readonly factor: number;
  /** No delay exceeds this, jitter included. */
  readonly capMs: number;
  /** The share of the delay that jitter may remove: 0 = none, 1 = "full jitter". */
  readonly jitter: number;
}

/** 1 s, 2 s, 4 s … capped at 5 min, each shortened by up to half so that retries spread out. */
export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({
  baseMs: 1_000,
  factor: 2,
  capMs: 300_000,
  jitter: 0.5,
});

/** FNV-1a, scaled to [0, 1). Stable across processes and Node versions. */
export function unitHash(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x1_0000_0000;
}

/**
 * The delay after `attempt` failed tries (1 = the first try failed). Deterministic in
 * (seed, attempt): the same intent always waits the same time.
 */
export function backoffMs(
  attempt: number,
  seed: string,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = Math.min(policy.capMs, policy.baseMs * policy.factor ** exponent);
  const cut = raw * policy.jitter * unitHash(`${seed}#${attempt}`);
  return Math.round(raw - cut);
}
