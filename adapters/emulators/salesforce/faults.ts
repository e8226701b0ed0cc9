// Injected failures: the next N requests whose method and path match fail with a chosen status
// and error code, before anything is written.
import { SalesforceApiError } from './errors.ts';

/** A fault to inject; `path` is a regular expression tested against the request path. */
export interface FaultSpec {
  /** HTTP method to match; any when omitted. */
  readonly method?: string;
  /** Regular expression source (or RegExp) for the path, e.g. `/composite/sobjects`; any when omitted. */
  readonly path?: string | RegExp;
  /** How many matching requests fail; default 1. */
  readonly count?: number;
  /** Default 400 for UNABLE_TO_LOCK_ROW, 503 otherwise. */
  readonly status?: number;
  /** Default `UNABLE_TO_LOCK_ROW`. */
  readonly errorCode?: string;
  readonly message?: string;
  /**
   * `before` (the default): nothing happens. `after`: the request is carried out (its writes
   * commit, with their change events) and the client gets the error all the same, as when an
   * answer is lost on its way back.
   */
  readonly phase?: 'before' | 'after';
}

interface Fault {
  readonly method: string | undefined;
  readonly path: RegExp | undefined;
  remaining: number;
  readonly error: SalesforceApiError;
  readonly phase: 'before' | 'after';
}

const DEFAULT_MESSAGES: Record<string, string> = {
  UNABLE_TO_LOCK_ROW: 'unable to obtain exclusive access to this record or 1 records',
  SERVER_UNAVAILABLE: 'Server unavailable',
  UNKNOWN_EXCEPTION:
    'An unexpected error occurred. Please include this ErrorId if you contact support',
};

export class FaultRules {
  private faults: Fault[] = [];

  add(spec: FaultSpec): void {
    const errorCode = spec.errorCode ?? 'UNABLE_TO_LOCK_ROW';
    const status = spec.status ?? (errorCode === 'UNABLE_TO_LOCK_ROW' ? 400 : 503);
    const path =
      spec.path === undefined
        ? undefined
        : spec.path instanceof RegExp
          ? spec.path
          : new RegExp(spec.path);
    const message = spec.message ?? DEFAULT_MESSAGES[errorCode] ?? errorCode;
    this.faults.push({
      method: spec.method?.toUpperCase(),
      path,
      remaining: spec.count ?? 1,
      error: new SalesforceApiError(status, errorCode, message),
      phase: spec.phase ?? 'before',
    });
  }

  /** The fault for this request, consuming one use of the first matching one. */
  take(method: string, path: string): Pick<Fault, 'error' | 'phase'> | undefined {
    const fault = this.faults.find(
      (f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)),
    );
    if (!fault) return undefined;
    if (--fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }

  pending(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }

  clear(): void {
    this.faults = [];
  }
}
