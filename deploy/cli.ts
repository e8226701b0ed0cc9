// `npm run rtws -- <command>`: operator commands, configured by the same environment as rtws.
//   rebind stripe --confirm <acct_id> [--discard-inbound]
//                                       bind this database to the account of STRIPE_SECRET_KEY
//   rebind salesforce --confirm <org_id>
//                                       bind it to the organization of the Salesforce credentials
//   backfill --from stripe [--dry-run] [--adopt-orphans] [--invoices]
//                                       bring the bound account's customers into the catalogue
//   backfill --from postgres [--dry-run]
//                                       offer catalogue customers missing a link to their targets
//   reconcile                           compare the bound account with the catalogue, repair drift
// Exit codes: 0 done, 1 refused or failed (with the reason), 2 bad usage or configuration.
import { parseArgs } from 'node:util';
import { loadConfig } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import { backfill } from './cli/backfill.ts';
import { rebind } from './cli/rebind.ts';
import { Refused } from './cli/refused.ts';

const USAGE = [
  'usage: npm run rtws -- rebind stripe --confirm <acct_id> [--discard-inbound]',
  '       npm run rtws -- rebind salesforce --confirm <org_id>',
  '       npm run rtws -- backfill --from stripe [--dry-run] [--adopt-orphans] [--invoices]',
  '       npm run rtws -- backfill --from postgres [--dry-run]',
  '       npm run rtws -- reconcile',
].join('\n');

function args() {
  return parseArgs({
    allowPositionals: true,
    options: {
      confirm: { type: 'string' },
      from: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      'adopt-orphans': { type: 'boolean', default: false },
      invoices: { type: 'boolean', default: false },
      'discard-inbound': { type: 'boolean', default: false },
    },
  });
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof args>;
  try {
    parsed = args();
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, target] = positionals;
  const from = values.from;
  const adoptOrphans = values['adopt-orphans'];
  if (command === 'reconcile' && positionals.length === 1 && !values['dry-run'])
    return backfill(loadConfig(process.env), 'reconcile', {
      dryRun: false,
      adoptOrphans: false,
      invoices: false,
    });
  if (
    command === 'backfill' &&
    positionals.length === 1 &&
    (from === 'stripe' || (from === 'postgres' && !adoptOrphans && !values.invoices))
  )
    return backfill(loadConfig(process.env), from, {
      dryRun: values['dry-run'],
      adoptOrphans,
      invoices: values.invoices,
    });
  if (
    command === 'rebind' &&
    (target === 'stripe' || target === 'salesforce') &&
    positionals.length === 2 &&
    values.confirm
  )
    return rebind(loadConfig(process.env), target, values.confirm, values['discard-inbound']);
  console.error(USAGE);
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      console.error(`rtws: configuration error: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof Refused) {
      console.error(`rtws: refused: ${err.message}`);
      process.exit(1);
    }
    console.error(`rtws: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
