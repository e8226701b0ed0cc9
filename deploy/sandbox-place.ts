// Where a sandbox keeps its catalogue: a database and a namespace, recorded in its data dir at its
// first start (`sandbox.json`) and kept from then on. A sandbox's Stripe emulator has an account of
// its own data dir, and a database is bound to one account, so two sandboxes (two checkouts on one
// machine, or a data dir removed and started afresh) must not share a database: the second would
// meet the first's binding and refuse to start. The first sandbox on a server takes the defaults
// (`rtws`, no namespace), as does a data dir from before this record; any later one takes a
// database and a namespace of its own. `DATABASE_URL` or `RTWS_NAMESPACE`, when set, are used as
// they are.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { NAMESPACE_PATTERN } from '../core/subjects.ts';
import { databaseExists, databaseOf, withDatabase } from '../adapters/postgres/connect.ts';

export const PLACE_FILE = 'sandbox.json';

export interface SandboxPlace {
  readonly database: string;
  readonly namespace: string;
}

/** The configuration with the sandbox's database and namespace. */
export async function placeSandbox(config: Config, log: Logger): Promise<Config> {
  if (config.placeGiven) return config;
  const file = join(config.dataDir, PLACE_FILE);
  let place = await readPlace(file);
  if (!place) {
    const chosen = await choosePlace(config);
    // Unsure (Postgres did not answer): the defaults for now, and the choice made next start.
    if (!chosen) return config;
    place = chosen;
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(place, null, 2)}\n`);
    if (place.database !== databaseOf(config.databaseUrl))
      log.info(
        { database: place.database, namespace: place.namespace, recorded_in: file },
        `database ${databaseOf(config.databaseUrl)} holds another sandbox's catalogue: this one keeps its own`,
      );
  }
  return Object.freeze({
    ...config,
    databaseUrl: withDatabase(config.databaseUrl, place.database),
    namespace: place.namespace,
  });
}

async function choosePlace(config: Config): Promise<SandboxPlace | undefined> {
  const defaults = { database: databaseOf(config.databaseUrl), namespace: config.namespace };
  // A data dir whose emulators hold state started before this record: its catalogue is there.
  if (existsSync(join(config.dataDir, 'stripe'))) return defaults;
  let taken: boolean;
  try {
    taken = await databaseExists(config.databaseUrl);
  } catch {
    return undefined;
  }
  if (!taken) return defaults;
  const id = randomBytes(4).toString('hex');
  return { database: `${defaults.database}_${id}`, namespace: `sandbox_${id}` };
}

async function readPlace(file: string): Promise<SandboxPlace | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  const bad = (why: string) =>
    new ConfigError(
      'RTWS_DATA_DIR',
      `${file} ${why}: it records the sandbox's database and namespace ({"database": "…", "namespace": "…"}); correct it, or remove the data dir to start afresh`,
    );
  let place: unknown;
  try {
    place = JSON.parse(text);
  } catch {
    throw bad('is not JSON');
  }
  const { database, namespace } = (place ?? {}) as Partial<Record<keyof SandboxPlace, unknown>>;
  if (typeof database !== 'string' || database === '' || database.length > 63)
    throw bad('names no database');
  if (typeof namespace !== 'string' || !new RegExp(NAMESPACE_PATTERN).test(namespace))
    throw bad('names no valid namespace');
  return { database, namespace };
}
