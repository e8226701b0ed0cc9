// The CLI's verbs: what each takes, and what runs it. Most talk to a running rtws through its API
// (RTWS_URL, RTWS_API_TOKEN); `rebind` and `replay` read rtws's own configuration and work on the
// database and the streams directly, so that they work while rtws is stopped or refuses to start.
import type { Env } from '../../core/config.ts';
import { cliApi, type CliApi } from './api-client.ts';
import { conflicts } from './conflicts-verb.ts';
import { customer } from './customer-verb.ts';
import { dlqDiscard, dlqList, dlqRetry, dlqShow } from './dlq-verb.ts';
import { erase } from './erase-verb.ts';
import { UsageError } from './errors.ts';
import { output, type Out } from './output.ts';
import { validReplay } from './replay-args.ts';
import { status } from './status-verb.ts';
import { dryRun, runWork } from './work.ts';

export const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  limit: { type: 'string' },
  source: { type: 'string' },
  subject: { type: 'string' },
  reason: { type: 'string' },
  customer: { type: 'string' },
  field: { type: 'string' },
  all: { type: 'boolean' },
  from: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'adopt-orphans': { type: 'boolean' },
  'write-back': { type: 'boolean' },
  invoices: { type: 'boolean' },
  confirm: { type: 'string' },
  'discard-inbound': { type: 'boolean' },
  rebuild: { type: 'boolean' },
  stripe: { type: 'string' },
} as const;

export type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};

export const USAGE = `usage: npm run rtws -- <verb> [options] [--json]

  status                                   targets, customers by sync status, backlogs, work
  customer <id> [--limit n]                a customer's sync status and timeline
  resync <id>                              offer one customer to every target again
  resync --all                             export: offer every customer missing a link (a backfill)
  dlq list [--source s] [--subject prefix] [--limit n]
  dlq show <id>                            a dead letter with its payload
  dlq retry <id>...                        redrive letters to where they came from
  dlq discard <id> --reason <text>         remove a letter, recording why
  conflicts [--customer id] [--field f] [--limit n]
  erase <id> --confirm <id>                erase a customer's personal data everywhere (admin)
  pause <target> [--reason text]           hold a target's intents back (stripe, salesforce)
  resume <target>
  backfill --from stripe [--dry-run] [--adopt-orphans] [--write-back] [--invoices]
  backfill --from postgres [--dry-run]
  reconcile                                compare the bound account with the catalogue, repair drift
  replay <customerId> [--rebuild]          a customer's recorded messages, read from NATS directly
  replay --stripe <cus_…>                  the Stripe events INBOUND holds about a Stripe customer
  rebind stripe --confirm <acct_id> [--discard-inbound]
  rebind salesforce --confirm <org_id>     bind the database to another account (rtws stopped)

environment: RTWS_URL (default http://127.0.0.1:8080) and RTWS_API_TOKEN for the verbs that call
rtws; replay and rebind read rtws's own configuration (DATABASE_URL, NATS_URL, …).
exit codes: 0 done, 1 refused or failed, 2 bad usage or configuration, 3 rtws unreachable.`;

interface Ctx {
  readonly args: readonly string[];
  readonly values: Values;
  readonly env: Env;
  api(): CliApi;
  readonly out: Out;
}

interface Verb {
  /** Options it takes besides --json. */
  readonly options: readonly (keyof Values)[];
  /** Whether its positionals (after the verb) are right. */
  readonly args: (args: readonly string[], v: Values) => boolean;
  readonly run: (c: Ctx) => Promise<number>;
}

/** rtws's own configuration, for the local verbs; loaded only for them (it takes a second). */
const configOf = async (env: Env) => (await import('../../core/config.ts')).loadConfig(env);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LETTER = /^\d{1,15}$/;
const none = (a: readonly string[]) => a.length === 0;

function limitOf(v: Values, fallback: number, max: number): number {
  if (v.limit === undefined) return fallback;
  const n = Number(v.limit);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--limit must be a whole number from 1 to ${max}`);
  return n;
}

const DLQ: Record<string, Verb> = {
  list: {
    options: ['source', 'subject', 'limit'],
    args: none,
    run: (c) =>
      dlqList(c.api(), c.out, {
        source: c.values.source,
        subject: c.values.subject,
        limit: limitOf(c.values, 50, 10_000),
      }),
  },
  show: {
    options: [],
    args: (a) => a.length === 1 && LETTER.test(a[0]!),
    run: (c) => dlqShow(c.api(), c.out, c.args[0]!),
  },
  retry: {
    options: [],
    args: (a) => a.length > 0 && a.every((id) => LETTER.test(id)),
    run: (c) => dlqRetry(c.api(), c.out, c.args),
  },
  discard: {
    options: ['reason'],
    args: (a, v) => a.length === 1 && LETTER.test(a[0]!) && (v.reason?.trim().length ?? 0) > 0,
    run: (c) => dlqDiscard(c.api(), c.out, c.args[0]!, c.values.reason!),
  },
};

const target = (a: readonly string[]) =>
  a.length === 1 && (a[0] === 'stripe' || a[0] === 'salesforce');

export const VERBS: Record<string, Verb> = {
  status: { options: [], args: none, run: (c) => status(c.api(), c.out) },
  customer: {
    options: ['limit'],
    args: (a) => a.length === 1 && UUID.test(a[0]!),
    run: (c) => customer(c.api(), c.out, c.args[0]!, limitOf(c.values, 100, 500)),
  },
  resync: {
    options: ['all'],
    args: (a, v) => (v.all ? a.length === 0 : a.length === 1 && UUID.test(a[0]!)),
    async run(c) {
      if (c.values.all) return runWork(c.api(), 'backfill', { source: 'postgres' }, c.out.json);
      const r = await c.api().post<{ targets: string[] }>(`/customers/${c.args[0]}/resync`);
      c.out.print(r, () => `customer ${c.args[0]} offered again to ${r.targets.join(', ')}`);
      return 0;
    },
  },
  conflicts: {
    options: ['customer', 'field', 'limit'],
    args: (a, v) => none(a) && (v.customer === undefined || UUID.test(v.customer)),
    run: (c) =>
      conflicts(c.api(), c.out, {
        customer: c.values.customer,
        field: c.values.field,
        limit: limitOf(c.values, 50, 100),
      }),
  },
  erase: {
    options: ['confirm'],
    args: (a, v) => a.length === 1 && UUID.test(a[0]!) && v.confirm === a[0],
    run: (c) => erase(c.api(), c.out, c.args[0]!),
  },
  pause: {
    options: ['reason'],
    args: target,
    async run(c) {
      const body = c.values.reason ? { reason: c.values.reason } : {};
      const t = await c.api().post<{ state: string }>(`/targets/${c.args[0]}/pause`, body);
      c.out.print(t, () => `${c.args[0]}: ${t.state}`);
      return 0;
    },
  },
  resume: {
    options: [],
    args: target,
    async run(c) {
      const t = await c.api().post<{ state: string }>(`/targets/${c.args[0]}/resume`);
      c.out.print(t, () => `${c.args[0]}: ${t.state}`);
      return 0;
    },
  },
  backfill: {
    options: ['from', 'dry-run', 'adopt-orphans', 'write-back', 'invoices'],
    args: (a, v) =>
      none(a) &&
      (v.from === 'stripe' ||
        (v.from === 'postgres' && !v['adopt-orphans'] && !v['write-back'] && !v.invoices)),
    run(c) {
      const v = c.values;
      const body = {
        source: v.from,
        ...(v['adopt-orphans'] ? { adopt_orphans: true } : {}),
        ...(v['write-back'] ? { write_back: true } : {}),
        ...(v.invoices ? { objects: ['customer', 'invoice'] } : {}),
      };
      return v['dry-run']
        ? dryRun(c.api(), body, c.out.json)
        : runWork(c.api(), 'backfill', body, c.out.json);
    },
  },
  reconcile: {
    options: [],
    args: none,
    run: (c) => runWork(c.api(), 'reconcile', {}, c.out.json),
  },
  replay: {
    options: ['rebuild', 'stripe'],
    args: (a, v) =>
      a.length <= 1 &&
      validReplay({ customerId: a[0], stripeId: v.stripe, rebuild: !!v.rebuild, json: false }),
    // Loaded when used: the local verbs bring the Stripe, Salesforce and actor code with them.
    run: async (c) =>
      (await import('./replay.ts')).replay(await configOf(c.env), {
        customerId: c.args[0],
        stripeId: c.values.stripe,
        rebuild: !!c.values.rebuild,
        json: c.out.json,
      }),
  },
  rebind: {
    options: ['confirm', 'discard-inbound'],
    args: (a, v) => target(a) && !!v.confirm,
    run: async (c) =>
      (await import('./rebind.ts')).rebind(
        await configOf(c.env),
        c.args[0] as 'stripe' | 'salesforce',
        c.values.confirm!,
        !!c.values['discard-inbound'],
      ),
  },
};

/** The verb (and for `dlq`, its sub-verb) the arguments name, checked; UsageError if wrong. */
export function commandOf(positionals: readonly string[], values: Values) {
  const [name, ...rest] = positionals;
  let verb = name === undefined ? undefined : VERBS[name];
  let args = rest;
  let what = name ?? '';
  if (name === 'dlq') {
    verb = rest[0] === undefined ? undefined : DLQ[rest[0]];
    args = rest.slice(1);
    what = `dlq ${rest[0] ?? ''}`.trim();
  }
  if (!verb) throw new UsageError(name ? `unknown verb: ${what}` : 'a verb is needed');
  const extra = Object.keys(values).filter(
    (k) => k !== 'json' && !verb.options.includes(k as keyof Values),
  );
  if (extra.length > 0) throw new UsageError(`${what} does not take --${extra.join(', --')}`);
  if (!verb.args(args, values)) throw new UsageError(`wrong arguments for ${what}`);
  return {
    run: (env: Env) =>
      verb.run({ args, values, env, api: () => cliApi(env), out: output(!!values.json) }),
  };
}
