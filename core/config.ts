// The configuration: read once, at the entry point, from an env object (the entry point passes
// process.env; tests pass a literal), into a frozen, validated object with every default filled
// in. Its type, checks, defaults and README rows all come from one table (config-schema.ts); a bad
// value, or a broken rule between values (config-rules.ts), names its variable.
import { Value } from '@sinclair/typebox/value';
import type { TObject } from '@sinclair/typebox';
import { ConfigError } from './errors.ts';
import { envOf, parseText, variablesOf, type Variable } from './config-variable.ts';
import { CONFIG_SCHEMA, type Settings } from './config-schema.ts';
import { checkRules } from './config-rules.ts';
import { planPrivateServers, type PrivateServerPlans } from './private-servers.ts';

export { ROLES, type Role } from './config-schema.ts';

export type Env = Readonly<Record<string, string | undefined>>;

type Frozen<T> = T extends readonly (infer E)[]
  ? readonly Frozen<E>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

export type Config = Frozen<
  Settings & {
    /** No Stripe key: rtws starts its own emulators. */
    sandbox: boolean;
    /**
     * Whether `DATABASE_URL` or `RTWS_NAMESPACE` was set: a sandbox then uses them as they are,
     * rather than a place of its own data dir (`deploy/sandbox-place.ts`).
     */
    placeGiven: boolean;
    /** Whether rtws may start its own Postgres and NATS (see RTWS_EMBEDDED). */
    privateServers: PrivateServerPlans;
  }
>;

/** What a worker is tuned with: its lease, call timeout, concurrency and actor cache. */
export type WorkerSettings = Config['worker'];

/** Every variable, in the order of the README table. */
export const VARIABLES: readonly Variable[] = variablesOf(CONFIG_SCHEMA);

/**
 * The README's configuration table, from the `doc` fields (`npm run docs:config` writes it; a
 * test fails when the README differs).
 */
export function configTable(): string {
  const rows = VARIABLES.map((v) => {
    const shown =
      v.shownDefault ??
      (v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``);
    return `| \`${v.name}\` | ${shown} | ${v.doc} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function loadConfig(env: Env): Config {
  const settings = read(CONFIG_SCHEMA, env);
  // Each value was checked as it was read; checking the whole gives its type without a cast.
  if (!Value.Check(CONFIG_SCHEMA, settings))
    throw new Error('the configuration does not match its schema');
  checkRules(settings);
  const given = (name: string) => env[name] !== undefined && env[name] !== '';
  return deepFreeze({
    ...settings,
    roles: [...new Set(settings.roles)],
    sandbox: settings.stripe.secretKey === undefined,
    placeGiven: given('DATABASE_URL') || given('RTWS_NAMESPACE'),
    privateServers: planPrivateServers({
      chosen: settings.embedded.servers,
      stripeKey: settings.stripe.secretKey,
      urlSet: { postgres: given('DATABASE_URL'), nats: given('NATS_URL') },
    }),
  });
}

/** A group's settings from the environment; an unset variable without a default is left out. */
function read(group: TObject, env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(group.properties)) {
    const v = envOf(schema);
    if (!v) {
      out[key] = read(schema as TObject, env);
      continue;
    }
    const raw = env[v.name];
    const text = raw === undefined || raw === '' ? v.default : raw;
    if (text === undefined) continue;
    const value = parseText(schema, text);
    if (!Value.Check(schema, value)) {
      const first = Value.Errors(schema, value).First();
      const shown = v.secret ? '(hidden)' : JSON.stringify(text);
      throw new ConfigError(
        v.name,
        `invalid value ${shown}: ${v.expected ?? first?.message ?? 'does not match'}`,
      );
    }
    out[key] = value;
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
