// The configuration: every variable, its default and its check, in one table. `loadConfig` is
// handed an env object (the entry point passes process.env; tests pass a literal) and returns a
// frozen, validated object. A bad value names its variable.
import { Type, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.ts';
import { NAMESPACE_PATTERN } from './subjects.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export const ROLES = ['api', 'publisher', 'worker'] as const;
export type Role = (typeof ROLES)[number];

type Parse = 'string' | 'int' | 'list';

interface Variable {
  readonly name: string;
  readonly parse: Parse;
  readonly schema: TSchema;
  readonly default?: string;
  /** Shown in the README table. */
  readonly doc: string;
  /** How the README shows a default that is computed, or needs a word: else the value itself. */
  readonly shownDefault?: string;
  readonly secret?: boolean;
}

const Url = (protocols: string) => Type.String({ pattern: `^(${protocols})://` });
const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max });

export const VARIABLES = [
  {
    name: 'DATABASE_URL',
    parse: 'string',
    schema: Url('postgres|postgresql'),
    default: 'postgres://postgres@127.0.0.1:5432/rtws',
    doc: 'Postgres connection URL; the database is created if missing.',
    secret: true,
  },
  {
    name: 'NATS_URL',
    parse: 'list',
    schema: Type.Array(Url('nats|tls'), { minItems: 1 }),
    default: 'nats://127.0.0.1:4222',
    doc: 'NATS server URL(s), comma-separated.',
  },
  {
    name: 'HOST',
    parse: 'string',
    schema: Type.String({ minLength: 1 }),
    default: '127.0.0.1',
    doc: 'Address the HTTP API listens on.',
  },
  {
    name: 'PORT',
    parse: 'int',
    schema: Int(0, 65535),
    default: '8080',
    doc: 'HTTP port (0 picks a free one).',
  },
  {
    name: 'RTWS_API_TOKEN',
    parse: 'string',
    schema: Type.String({ minLength: 16 }),
    doc: 'Bearer token for the API (16 characters or more). Unset: one is generated and shown once in the startup banner.',
    secret: true,
  },
  {
    name: 'RTWS_NAMESPACE',
    parse: 'string',
    schema: Type.String({ pattern: NAMESPACE_PATTERN }),
    default: '',
    doc: 'Prefixes every stream, subject and bucket, so tenants can share a NATS server.',
  },
  {
    name: 'RTWS_ROLES',
    parse: 'list',
    schema: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1 }),
    default: 'api,publisher,worker',
    doc: 'What this process runs: any of api, publisher, worker.',
  },
  {
    name: 'RTWS_PARTITIONS',
    parse: 'int',
    schema: Int(1, 99),
    default: '16',
    doc: 'Subject partitions that workers share. Fixed for the life of a deployment.',
  },
  {
    name: 'RTWS_DATA_DIR',
    parse: 'string',
    schema: Type.String({ minLength: 1 }),
    default: '.rtws-data',
    doc: 'Where the sandbox emulators keep their state.',
  },
  {
    name: 'RTWS_SANDBOX_STRIPE_PORT',
    parse: 'int',
    schema: Int(0, 65535),
    default: '0',
    doc: "Sandbox only: the Stripe emulator's port (0 = a free one).",
  },
  {
    name: 'RTWS_SANDBOX_SALESFORCE_PORT',
    parse: 'int',
    schema: Int(0, 65535),
    default: '0',
    doc: "Sandbox only: the Salesforce emulator's port (0 = a free one).",
  },
  {
    name: 'RTWS_PUBLISHER_POLL_MS',
    parse: 'int',
    schema: Int(10, 600_000),
    default: '1000',
    doc: 'Safety poll of the outbox, covering missed notifications.',
  },
  {
    name: 'RTWS_PUBLISHER_BATCH',
    parse: 'int',
    schema: Int(1, 10_000),
    default: '1000',
    doc: 'Outbox rows the publisher takes per transaction.',
  },
  {
    name: 'RTWS_PUBLISH_WINDOW',
    parse: 'int',
    schema: Int(1, 10_000),
    default: '512',
    doc: 'Publishes awaiting their PubAck at once (never more than one per customer).',
  },
  {
    name: 'RTWS_STREAM_MAX_AGE_S',
    parse: 'int',
    schema: Int(0, 10 * 365 * 86_400),
    default: String(30 * 86_400),
    shownDefault: '`2592000` (30 days)',
    doc: 'Retention of CHANGES, INVOICES and INBOUND by age, in seconds (0 = unlimited).',
  },
  {
    name: 'RTWS_STREAM_MAX_BYTES',
    parse: 'int',
    schema: Int(-1, Number.MAX_SAFE_INTEGER),
    default: '-1',
    doc: 'Retention of each stream by size, in bytes (-1 = unlimited).',
  },
  {
    name: 'RTWS_BODY_LIMIT',
    parse: 'int',
    schema: Int(1024, 10 * 1024 * 1024),
    default: String(64 * 1024),
    doc: 'Largest accepted request body, in bytes; larger ones get 413.',
  },
  {
    name: 'LOG_LEVEL',
    parse: 'string',
    schema: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    ),
    default: 'info',
    doc: 'Log level.',
  },
  {
    name: 'STRIPE_SECRET_KEY',
    parse: 'string',
    schema: Type.String({ pattern: '^(sk|rk)_(test|live)_' }),
    doc: 'Stripe API key. Unset: the sandbox (built-in emulators).',
    secret: true,
  },
  {
    name: 'STRIPE_WEBHOOK_SECRET',
    parse: 'list',
    schema: Type.Array(Type.String({ pattern: '^whsec_' })),
    doc: 'Webhook signing secrets, comma-separated (several during a rotation). Required with a Stripe key.',
    secret: true,
  },
  {
    name: 'STRIPE_API_BASE',
    parse: 'string',
    schema: Type.String({ pattern: '^https?://[^/]+$' }),
    doc: 'Stripe API origin, e.g. `http://127.0.0.1:12111`, without `/v1`.',
  },
  {
    name: 'RTWS_STRIPE_RATE',
    parse: 'int',
    schema: Int(1, 10_000),
    shownDefault: '20 with a test key, 80 with a live key',
    doc: "Stripe calls (customers and invoices together) started per second. Stripe allows 25 and 100 by default; raise it only where Stripe raised the account's limit. A 429 slows rtws down either way.",
  },
  {
    name: 'RTWS_STRIPE_CONCURRENCY',
    parse: 'int',
    schema: Int(1, 1_000),
    default: '8',
    doc: 'Stripe calls in flight at once, across customers.',
  },
  {
    name: 'RTWS_CATCHUP_INTERVAL_S',
    parse: 'int',
    schema: Int(0, 86_400),
    default: '60',
    doc: "How often, in seconds, rtws lists Stripe's events for any its webhooks missed (0: only at start and when a worker takes partitions over).",
  },
  {
    name: 'RTWS_CATCHUP_MARGIN_S',
    parse: 'int',
    schema: Int(0, 86_400),
    default: '60',
    doc: 'Catch-up lists events from its watermark minus this many seconds, for events Stripe lists late.',
  },
  {
    name: 'RTWS_MATCH_BY',
    parse: 'string',
    schema: Type.Union([Type.Literal('email'), Type.Literal('none')]),
    default: 'email',
    doc: 'How an import (and a create) pairs an unlinked Stripe customer with a catalogue customer: `email` (case-insensitive, one candidate on each side) or `none`.',
  },
  {
    name: 'RTWS_MATCH_MERGE',
    parse: 'string',
    schema: Type.Union([Type.Literal('stripe'), Type.Literal('catalogue')]),
    default: 'stripe',
    doc: "Which values a matched pair keeps where they differ: `stripe` (the Stripe customer's, where it has one; the catalogue fills the rest) or `catalogue`.",
  },
  {
    name: 'RTWS_AUTO_EXPORT',
    parse: 'string',
    schema: Type.Union([Type.Literal('true'), Type.Literal('false')]),
    default: 'true',
    doc: 'Whether a target switched on for the first time (a start that configures it) starts an export of the catalogue to it by itself (`true` or `false`).',
  },
  {
    name: 'RTWS_WORKER_ID',
    parse: 'string',
    schema: Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }),
    shownDefault: 'random',
    doc: "This worker's identity. Set it (one per process, stable across restarts) so a restarted worker takes its partitions back without waiting for the leases to expire. Two live processes can never share one: the second exits.",
  },
  {
    name: 'SALESFORCE_LOGIN_URL',
    parse: 'string',
    schema: Url('https?'),
    doc: 'Salesforce login (My Domain) URL.',
  },
  {
    name: 'SALESFORCE_CLIENT_ID',
    parse: 'string',
    schema: Type.String({ minLength: 1 }),
    doc: 'Salesforce connected-app client id.',
  },
  {
    name: 'SALESFORCE_CLIENT_SECRET',
    parse: 'string',
    schema: Type.String({ minLength: 1 }),
    doc: 'Salesforce connected-app client secret.',
    secret: true,
  },
  {
    name: 'SALESFORCE_OBJECT',
    parse: 'string',
    schema: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' }),
    default: 'Account',
    doc: 'The sObject customers map to.',
  },
  {
    name: 'SALESFORCE_EXTERNAL_ID_FIELD',
    parse: 'string',
    schema: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' }),
    default: 'Rtws_Id__c',
    doc: 'The external-id field holding our customer id.',
  },
  {
    name: 'RTWS_SALESFORCE_QUOTA_PAUSE_MS',
    parse: 'int',
    schema: Int(1_000, 86_400_000),
    default: String(5 * 60_000),
    shownDefault: '`300000` (5 min)',
    doc: 'How long Salesforce is paused, in ms, once its daily API quota is spent (`REQUEST_LIMIT_EXCEEDED`), before the paused changes are tried again.',
  },
] as const satisfies readonly Variable[];

export interface Config {
  readonly databaseUrl: string;
  readonly natsServers: readonly string[];
  readonly host: string;
  readonly port: number;
  /** Undefined means "generate one and show it in the banner". */
  readonly apiToken: string | undefined;
  readonly namespace: string;
  readonly roles: readonly Role[];
  readonly partitions: number;
  readonly dataDir: string;
  readonly sandboxPorts: { readonly stripe: number; readonly salesforce: number };
  readonly publisher: {
    readonly pollMs: number;
    readonly batchSize: number;
    readonly window: number;
  };
  readonly retention: { readonly maxAgeSeconds: number; readonly maxBytes: number };
  readonly bodyLimit: number;
  readonly logLevel: string;
  readonly stripe: {
    readonly secretKey: string | undefined;
    readonly webhookSecrets: readonly string[];
    readonly apiBase: string | undefined;
    /** Calls started per second; undefined: the default of the key's mode. */
    readonly rate: number | undefined;
    readonly concurrency: number;
    /** Catch-up from the events API: every this many seconds (0: at start and takeovers only). */
    readonly catchUpIntervalS: number;
    readonly catchUpMarginS: number;
  };
  /** Set: this worker's stable identity; unset: a random one per start. */
  readonly workerId: string | undefined;
  /** A target configured for the first time starts an export to it. */
  readonly autoExport: boolean;
  /** How an import pairs customers, and which values a pair keeps. */
  readonly match: { readonly by: 'email' | 'none'; readonly merge: 'stripe' | 'catalogue' };
  readonly salesforce: {
    readonly loginUrl: string | undefined;
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly object: string;
    readonly externalIdField: string;
    readonly quotaPauseMs: number;
  };
  /** No Stripe key: rtws starts its own emulators. */
  readonly sandbox: boolean;
}

type Name = (typeof VARIABLES)[number]['name'];

/**
 * The README's configuration table, from this table's `doc` fields (`npm run docs:config` writes
 * it; a test fails when the README differs).
 */
export function configTable(): string {
  const rows = (VARIABLES as readonly Variable[]).map((v) => {
    const shown =
      v.shownDefault ??
      (v.default === undefined ? '—' : v.default === '' ? '(empty)' : `\`${v.default}\``);
    return `| \`${v.name}\` | ${shown} | ${v.doc} |`;
  });
  return ['| variable | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function parse(v: Variable, raw: string): unknown {
  switch (v.parse) {
    case 'string':
      return raw;
    case 'int':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default: {
      const never: never = v.parse;
      return never;
    }
  }
}

function read(env: Env): Map<Name, unknown> {
  const out = new Map<Name, unknown>();
  for (const v of VARIABLES as readonly (Variable & { name: Name })[]) {
    const raw = env[v.name];
    const text = raw === undefined || raw === '' ? v.default : raw;
    if (text === undefined) continue;
    const value = parse(v, text);
    if (!Value.Check(v.schema, value)) {
      const first = Value.Errors(v.schema, value).First();
      const shown = v.secret ? '(hidden)' : JSON.stringify(text);
      throw new ConfigError(
        v.name,
        `invalid value ${shown}: ${first?.message ?? 'does not match'}`,
      );
    }
    out.set(v.name, value);
  }
  return out;
}

export function loadConfig(env: Env): Config {
  const m = read(env);
  const get = <T>(name: Name) => m.get(name) as T;
  const sfPresent = [
    'SALESFORCE_LOGIN_URL',
    'SALESFORCE_CLIENT_ID',
    'SALESFORCE_CLIENT_SECRET',
  ].filter((n) => m.has(n as Name));
  if (sfPresent.length > 0 && sfPresent.length < 3) {
    const missing = [
      'SALESFORCE_LOGIN_URL',
      'SALESFORCE_CLIENT_ID',
      'SALESFORCE_CLIENT_SECRET',
    ].find((n) => !m.has(n as Name))!;
    throw new ConfigError(missing, 'required when any Salesforce credential is set');
  }
  const secretKey = get<string | undefined>('STRIPE_SECRET_KEY');
  if (secretKey && (get<string[] | undefined>('STRIPE_WEBHOOK_SECRET') ?? []).length === 0) {
    throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'required when STRIPE_SECRET_KEY is set');
  }
  const config: Config = {
    databaseUrl: get('DATABASE_URL'),
    natsServers: get('NATS_URL'),
    host: get('HOST'),
    port: get('PORT'),
    apiToken: get('RTWS_API_TOKEN'),
    namespace: get('RTWS_NAMESPACE'),
    roles: [...new Set(get<Role[]>('RTWS_ROLES'))],
    partitions: get('RTWS_PARTITIONS'),
    dataDir: get('RTWS_DATA_DIR'),
    sandboxPorts: {
      stripe: get('RTWS_SANDBOX_STRIPE_PORT'),
      salesforce: get('RTWS_SANDBOX_SALESFORCE_PORT'),
    },
    publisher: {
      pollMs: get('RTWS_PUBLISHER_POLL_MS'),
      batchSize: get('RTWS_PUBLISHER_BATCH'),
      window: get('RTWS_PUBLISH_WINDOW'),
    },
    retention: {
      maxAgeSeconds: get('RTWS_STREAM_MAX_AGE_S'),
      maxBytes: get('RTWS_STREAM_MAX_BYTES'),
    },
    bodyLimit: get('RTWS_BODY_LIMIT'),
    logLevel: get('LOG_LEVEL'),
    stripe: {
      secretKey,
      webhookSecrets: get<string[] | undefined>('STRIPE_WEBHOOK_SECRET') ?? [],
      apiBase: get('STRIPE_API_BASE'),
      rate: get('RTWS_STRIPE_RATE'),
      concurrency: get('RTWS_STRIPE_CONCURRENCY'),
      catchUpIntervalS: get('RTWS_CATCHUP_INTERVAL_S'),
      catchUpMarginS: get('RTWS_CATCHUP_MARGIN_S'),
    },
    workerId: get('RTWS_WORKER_ID'),
    autoExport: get('RTWS_AUTO_EXPORT') === 'true',
    match: { by: get('RTWS_MATCH_BY'), merge: get('RTWS_MATCH_MERGE') },
    salesforce: {
      loginUrl: get('SALESFORCE_LOGIN_URL'),
      clientId: get('SALESFORCE_CLIENT_ID'),
      clientSecret: get('SALESFORCE_CLIENT_SECRET'),
      object: get('SALESFORCE_OBJECT'),
      externalIdField: get('SALESFORCE_EXTERNAL_ID_FIELD'),
      quotaPauseMs: get('RTWS_SALESFORCE_QUOTA_PAUSE_MS'),
    },
    sandbox: secretKey === undefined,
  };
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
