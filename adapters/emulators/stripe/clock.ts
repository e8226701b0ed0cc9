/** Wall clock with a settable offset, so tests can move time (key expiry, timestamps). */
export class Clock {
  offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** Stripe timestamps are whole unix seconds. */
  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }
}
