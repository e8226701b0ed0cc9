// API call accounting: the daily budget behind `Sforce-Limit-Info`, calls per endpoint, and the
// `Sforce-Call-Options` values seen, so tests can assert how a client behaved.

/** A read-only view of the counters. */
export interface UsageStats {
  readonly apiCalls: number;
  readonly dailyApiLimit: number;
  readonly callsByEndpoint: Record<string, number>;
  /** `Sforce-Call-Options` header value → count; requests without it count under `''`. */
  readonly callOptions: Record<string, number>;
}

export class ApiUsage {
  private used = 0;
  private day = currentDay();
  private exhausted = false;
  private byEndpoint = new Map<string, number>();
  private options = new Map<string, number>();

  constructor(private limit: number) {}

  /** Whether another call fits in today's budget. */
  allows(): boolean {
    this.rollOver();
    return !this.exhausted && this.used < this.limit;
  }

  count(endpoint: string, callOptions: string | undefined): void {
    this.used++;
    this.byEndpoint.set(endpoint, (this.byEndpoint.get(endpoint) ?? 0) + 1);
    const key = callOptions ?? '';
    this.options.set(key, (this.options.get(key) ?? 0) + 1);
  }

  /** The `Sforce-Limit-Info` header value. */
  header(): string {
    const used = this.exhausted ? Math.max(this.used, this.limit) : this.used;
    return `api-usage=${used}/${this.limit}`;
  }

  remaining(): number {
    return this.exhausted ? 0 : Math.max(0, this.limit - this.used);
  }

  exhaust(): void {
    this.exhausted = true;
  }

  /** Lifts an exhaustion; a budget that was really used up starts again from zero. */
  restore(): void {
    this.exhausted = false;
    if (this.used >= this.limit) this.used = 0;
  }

  setLimit(limit: number): void {
    this.limit = limit;
  }

  /** Sets the calls counted so far today, as if other clients of the org had made them. */
  setUsed(used: number): void {
    this.rollOver();
    this.used = used;
  }

  stats(): UsageStats {
    return {
      apiCalls: this.used,
      dailyApiLimit: this.limit,
      callsByEndpoint: Object.fromEntries(this.byEndpoint),
      callOptions: Object.fromEntries(this.options),
    };
  }

  reset(): void {
    this.used = 0;
    this.exhausted = false;
    this.byEndpoint = new Map();
    this.options = new Map();
  }

  // The real budget is a rolling 24 hours; a calendar day in UTC is close enough here.
  private rollOver(): void {
    const today = currentDay();
    if (today === this.day) return;
    this.day = today;
    this.used = 0;
  }
}

function currentDay(): string {
  return new Date().toISOString().slice(0, 10);
}
