// What an operator command works on: the catalogue, migrated, and the streams; closed when done.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../../core/config.ts';
import { names as subjectNames, type Names } from '../../core/subjects.ts';
import { connectNats } from '../../adapters/jetstream/connect.ts';
import { connectPostgres, ensureDatabase, type Sql } from '../../adapters/postgres/connect.ts';
import { migrate } from '../../adapters/postgres/migrate.ts';
import { checkPartitions } from '../../adapters/postgres/deployment-settings.ts';

export interface CliConnections {
  readonly sql: Sql;
  readonly nats: NatsConnection;
  readonly names: Names;
}

/** Runs `work` on open connections and closes them after, whether it succeeds or throws. */
export async function withConnections<T>(
  config: Config,
  work: (c: CliConnections) => Promise<T>,
): Promise<T> {
  await ensureDatabase(config.databaseUrl);
  const sql = connectPostgres(config.databaseUrl, { applicationName: 'rtws-cli' });
  try {
    const nats = await connectNats({ servers: config.natsServers, name: 'rtws-cli' });
    try {
      await migrate(sql);
      await checkPartitions(sql, config.partitions);
      return await work({ sql, nats, names: subjectNames(config.namespace, config.partitions) });
    } finally {
      await nats.close();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
