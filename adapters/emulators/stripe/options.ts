import { ACCOUNT_ID_PATTERN } from './account-object.ts';

/** A webhook endpoint registered when the emulator starts. */
export interface WebhookEndpointOption {
  url: string;
  /** A `whsec_` secret to use; one is generated when omitted. */
  secret?: string;
  /** Event types to deliver; `['*']` (all) when omitted. */
  enabledEvents?: string[];
}

export interface StripeEmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** When given, state survives restarts in `<dataDir>/stripe-emulator.json` (atomic, debounced writes). */
  dataDir?: string;
  /** Events kept for `GET /v1/events`; the oldest go first. Default 50,000. */
  maxEvents?: number;
  /** Idempotency keys kept; the oldest go first. Default 50,000. */
  maxIdempotencyKeys?: number;
  /** How long a key is remembered. Default 24 h, as Stripe. */
  idempotencyTtlMs?: number;
  /** Delay before a change becomes searchable. Default 1000 ms. */
  searchLagMs?: number;
  /** Waits before each webhook retry; attempts = 1 + length. Default 1 s, 2 s, 5 s, 10 s, 30 s, 60 s. */
  webhookRetryScheduleMs?: number[];
  /** Concurrent deliveries per endpoint. Default 8. */
  webhookConcurrency?: number;
  /** Receiver timeout per delivery. Default 10 s. */
  webhookTimeoutMs?: number;
  webhooks?: WebhookEndpointOption[];
  /** api_version of events and the echoed Stripe-Version when a request sends none. */
  apiVersion?: string;
  /** Quiet period before state is written to dataDir. Default 250 ms. */
  persistDebounceMs?: number;
  /**
   * The id `GET /v1/account` answers (`acct_` + 1–64 alphanumerics). Default: the one saved in
   * dataDir, else a new random one (saved there when dataDir is given).
   */
  accountId?: string;
}

export type ResolvedOptions = Readonly<
  Required<Omit<StripeEmulatorOptions, 'dataDir' | 'accountId'>> & {
    dataDir: string | undefined;
    accountId: string | undefined;
  }
>;

/** An option the emulator cannot start with. */
export class InvalidOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option} ${message}`);
    this.name = 'InvalidOptionError';
  }
}

const HOUR = 3_600_000;
/** Stripe's own schedule in test mode: three retries over a few hours. */
export const STRIPE_TEST_MODE_RETRY_SCHEDULE_MS: readonly number[] = [HOUR, 2 * HOUR, 4 * HOUR];
/** Stripe's live-mode schedule: exponential backoff for up to three days. */
export const STRIPE_LIVE_RETRY_SCHEDULE_MS: readonly number[] = [
  HOUR,
  2 * HOUR,
  4 * HOUR,
  8 * HOUR,
  16 * HOUR,
  24 * HOUR,
  17 * HOUR,
];
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
];
/** The version stripe@23.1.0 pins. */
export const DEFAULT_API_VERSION = '2026-10-28.endive';

function checkAccountId(id: string | undefined): string | undefined {
  if (id !== undefined && !ACCOUNT_ID_PATTERN.test(id))
    throw new InvalidOptionError(
      'accountId',
      `must be acct_ followed by 1 to 64 letters or digits, got ${JSON.stringify(id)}`,
    );
  return id;
}

export function resolveOptions(options: StripeEmulatorOptions = {}): ResolvedOptions {
  return Object.freeze({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    dataDir: options.dataDir,
    maxEvents: options.maxEvents ?? 50_000,
    maxIdempotencyKeys: options.maxIdempotencyKeys ?? 50_000,
    idempotencyTtlMs: options.idempotencyTtlMs ?? 24 * HOUR,
    searchLagMs: options.searchLagMs ?? 1_000,
    webhookRetryScheduleMs: [...(options.webhookRetryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS)],
    webhookConcurrency: options.webhookConcurrency ?? 8,
    webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
    webhooks: options.webhooks ?? [],
    apiVersion: options.apiVersion ?? DEFAULT_API_VERSION,
    persistDebounceMs: options.persistDebounceMs ?? 250,
    accountId: checkAccountId(options.accountId),
  });
}
