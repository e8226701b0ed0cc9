// rtws's share of the Salesforce org's daily API calls (RTWS_SALESFORCE_DAILY_BUDGET), held by a
// process that calls Salesforce and shared with the others through KV: the worker's calls, the
// reconciliations' reads, and the reads of the usage itself all count against it.
import type { Connection } from 'jsforce';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../../core/config.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Names } from '../../../core/subjects.ts';
import { parseShare } from '../../../core/policy/daily-budget.ts';
import { openUsageRecords } from '../../../adapters/jetstream/kv-usage.ts';
import {
  checkUsage,
  connectSalesforce,
  organizationOf,
} from '../../../adapters/salesforce/client.ts';
import { SalesforceDailyBudget } from '../../../adapters/salesforce/daily-budget.ts';

/** Undefined when Salesforce is not configured. */
export async function openSalesforceBudget(
  config: Config,
  d: { nats: NatsConnection; names: Names; log: Logger },
): Promise<SalesforceDailyBudget | undefined> {
  const { loginUrl, clientId, clientSecret, dailyBudget, usageCheckMs } = config.salesforce;
  if (!loginUrl || !clientId || !clientSecret) return undefined;
  const records = await openUsageRecords(d.nats, {
    bucket: d.names.bucket('SALESFORCE_USAGE'),
    replicas: config.replicas,
    log: d.log,
  });
  const timeoutMs = config.worker.callTimeoutMs;
  // Its own session, authorised on first use: the org's id comes from the token, at no cost.
  let session: Promise<Connection> | undefined;
  const connection = () =>
    (session ??= connectSalesforce({ loginUrl, clientId, clientSecret, timeoutMs, budget }).catch(
      (err: unknown) => {
        session = undefined;
        throw err;
      },
    ));
  const budget: SalesforceDailyBudget = new SalesforceDailyBudget({
    records,
    // Checked with the configuration.
    share: parseShare(dailyBudget)!,
    org: async () => organizationOf(await connection()),
    check: async () => checkUsage(await connection()),
    checkEveryMs: usageCheckMs,
    // A call ends within its timeout; its answer may take a KV write more to be counted.
    openForMs: 2 * timeoutMs,
    log: d.log.child({ component: 'salesforce-budget' }),
  });
  return budget;
}
