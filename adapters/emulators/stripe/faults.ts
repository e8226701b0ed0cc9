import { defaultFaultBody } from './errors.ts';
import type { StripeErrorBody } from './errors.ts';

/** Fail the next `count` requests matching method and path (`*` matches any run of characters). */
export interface FaultRule {
  method?: string;
  path: string;
  status: number;
  count?: number;
  /** before: nothing happens; after: the change commits (and fires events), the client gets the error. */
  phase?: 'before' | 'after';
  /** Sends `Stripe-Should-Retry` with this value; omitted when undefined. */
  shouldRetry?: boolean;
  error?: Partial<StripeErrorBody>;
}

/** Hold matching requests for `ms` before handling them (for client timeouts). */
export interface DelayRule {
  method?: string;
  path: string;
  ms: number;
  /** How many requests to delay; unlimited when omitted. */
  count?: number;
}

export interface ActiveFault {
  status: number;
  phase: 'before' | 'after';
  body: StripeErrorBody;
  headers: Record<string, string>;
}

interface Matcher {
  method: string;
  path: RegExp;
  remaining: number;
}

function matcher(method: string | undefined, path: string, count: number | undefined): Matcher {
  const escaped = path
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return {
    method: (method ?? '*').toUpperCase(),
    path: new RegExp(`^${escaped}$`),
    remaining: count ?? Infinity,
  };
}

function matches(m: Matcher, method: string, path: string): boolean {
  return m.remaining > 0 && (m.method === '*' || m.method === method) && m.path.test(path);
}

/** Fault injection: failures, delays and a requests-per-second budget. */
export class Faults {
  private faults: { m: Matcher; fault: ActiveFault }[] = [];
  private delays: { m: Matcher; ms: number }[] = [];
  private rps: number | null = null;
  private windowStart = 0;
  private windowCount = 0;

  addFault(rule: FaultRule): void {
    const body: StripeErrorBody = { ...defaultFaultBody(rule.status), ...rule.error };
    const headers: Record<string, string> = {};
    if (rule.shouldRetry !== undefined) headers['Stripe-Should-Retry'] = String(rule.shouldRetry);
    this.faults.push({
      m: matcher(rule.method, rule.path, rule.count ?? 1),
      fault: { status: rule.status, phase: rule.phase ?? 'before', body, headers },
    });
  }

  addDelay(rule: DelayRule): void {
    this.delays.push({ m: matcher(rule.method, rule.path, rule.count), ms: rule.ms });
  }

  setRateLimit(rps: number | null): void {
    this.rps = rps;
    this.windowCount = 0;
  }

  clear(): void {
    this.faults = [];
    this.delays = [];
    this.rps = null;
  }

  /** Consumes and returns the first fault matching this request. */
  takeFault(method: string, path: string): ActiveFault | undefined {
    const entry = this.faults.find(({ m }) => matches(m, method, path));
    if (!entry) return undefined;
    entry.m.remaining--;
    if (entry.m.remaining <= 0) this.faults = this.faults.filter((f) => f !== entry);
    return entry.fault;
  }

  takeDelay(method: string, path: string): number {
    const entry = this.delays.find(({ m }) => matches(m, method, path));
    if (!entry) return 0;
    entry.m.remaining--;
    if (entry.m.remaining <= 0) this.delays = this.delays.filter((d) => d !== entry);
    return entry.ms;
  }

  /** A fixed one-second window is enough to model a per-second budget. */
  overRateLimit(nowMs: number): boolean {
    if (this.rps === null) return false;
    const window = Math.floor(nowMs / 1000);
    if (window !== this.windowStart) {
      this.windowStart = window;
      this.windowCount = 0;
    }
    this.windowCount++;
    return this.windowCount > this.rps;
  }

  describe(): { faults: number; delays: number; rateLimit: number | null } {
    return { faults: this.faults.length, delays: this.delays.length, rateLimit: this.rps };
  }
}
