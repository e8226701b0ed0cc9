// Rules between settings, checked once each variable has passed its own check. A broken rule
// stops startup with a message that names the variable to change and says why.
import { ConfigError } from './errors.ts';
import { DAILY_BUDGET_EXPECTED, type Settings } from './config-schema.ts';
import { parseShare } from './policy/daily-budget.ts';
import { apiTokensOf } from './api-tokens.ts';

/**
 * The share of its TTL a held lease has left at worst: the worker stops acting on a lease 40 % of
 * the TTL before it can expire (`defaultMarginMs`, actors/runtime/leases.ts) and renews it every
 * fifth of the TTL (lease-keeper.ts), so just before a renewal 40 % is left.
 */
export const LEASE_SHARE_LEFT = 0.4;

/** What a call needs beyond its timeout before it may start under a lease. */
export const CALL_SLACK_MS = 1_000;

/** The longest call timeout under which a call can start at any point of a lease. */
export function maxCallTimeoutMs(leaseTtlMs: number): number {
  return Math.floor(leaseTtlMs * LEASE_SHARE_LEFT) - CALL_SLACK_MS;
}

export function checkRules(s: Settings): void {
  salesforceCredentialsTogether(s.salesforce);
  fieldMapFitsTheObject(s.salesforce);
  if (s.stripe.secretKey !== undefined && s.stripe.webhookSecrets.length === 0)
    throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'required when STRIPE_SECRET_KEY is set');
  callsFitTheLease(s.worker);
  snapshotsWithinRetention(s);
  fieldOwnersOnce(s.fieldOwners);
  apiTokensOf(s.apiTokens, s.apiToken);
  if (parseShare(s.salesforce.dailyBudget) === undefined)
    throw new ConfigError(
      'RTWS_SALESFORCE_DAILY_BUDGET',
      `invalid value ${JSON.stringify(s.salesforce.dailyBudget)}: ${DAILY_BUDGET_EXPECTED}`,
    );
}

/** Each field is named once in RTWS_FIELD_OWNERS. */
function fieldOwnersOnce(entries: readonly string[]): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    const field = entry.slice(0, entry.indexOf('='));
    if (seen.has(field))
      throw new ConfigError('RTWS_FIELD_OWNERS', `${field} is named twice: name each field once`);
    seen.add(field);
  }
}

/** The default map is an Account's: another object has other fields, so it needs its own map. */
function fieldMapFitsTheObject(sf: Settings['salesforce']): void {
  if (sf.fieldMapFile !== undefined || sf.object.toLowerCase() === 'account') return;
  throw new ConfigError(
    'SALESFORCE_FIELD_MAP',
    `required when SALESFORCE_OBJECT is not Account (it is ${sf.object}): the default map writes an Account's fields`,
  );
}

function salesforceCredentialsTogether(sf: Settings['salesforce']): void {
  const credentials = {
    SALESFORCE_LOGIN_URL: sf.loginUrl,
    SALESFORCE_CLIENT_ID: sf.clientId,
    SALESFORCE_CLIENT_SECRET: sf.clientSecret,
  };
  const present = Object.values(credentials).filter((v) => v !== undefined).length;
  if (present === 0 || present === 3) return;
  const missing = Object.entries(credentials).find(([, v]) => v === undefined)![0];
  throw new ConfigError(missing, 'required when any Salesforce credential is set');
}

/**
 * A call that cannot be fenced starts only while the lease outlives its timeout by the slack: a
 * longer timeout would hold every call back for part of each lease period, or for good.
 */
function callsFitTheLease(w: Settings['worker']): void {
  const max = maxCallTimeoutMs(w.leaseTtlMs);
  if (w.callTimeoutMs <= max) return;
  const ttlNeeded = Math.ceil((w.callTimeoutMs + CALL_SLACK_MS) / LEASE_SHARE_LEFT);
  throw new ConfigError(
    'RTWS_CALL_TIMEOUT_MS',
    `${w.callTimeoutMs} ms is too long for RTWS_LEASE_TTL_MS=${w.leaseTtlMs}: a call starts only ` +
      `while the lease outlives it, so it may be at most ${Math.max(0, max)} ms ` +
      `(${LEASE_SHARE_LEFT * 100} % of the lease TTL, less ${CALL_SLACK_MS} ms). ` +
      `Lower it, or raise RTWS_LEASE_TTL_MS to ${ttlNeeded} or more.`,
  );
}

/**
 * Messages are acked only once a snapshot covers them (write-behind), so the streams must keep a
 * message well beyond the longest wait for that snapshot.
 */
function snapshotsWithinRetention(s: Settings): void {
  const maxAgeMs = s.retention.maxAgeSeconds * 1_000;
  const everyMs = s.worker.snapshotEveryMs;
  if (maxAgeMs === 0 || maxAgeMs >= 10 * everyMs) return;
  throw new ConfigError(
    'RTWS_SNAPSHOT_EVERY_MS',
    `${everyMs} ms is too long for RTWS_STREAM_MAX_AGE_S=${s.retention.maxAgeSeconds}: a message ` +
      `stays unacked until a snapshot covers it, so the streams must keep messages at least ten ` +
      `times as long. Lower it, or raise RTWS_STREAM_MAX_AGE_S to ${Math.ceil(everyMs / 100)} or more.`,
  );
}
