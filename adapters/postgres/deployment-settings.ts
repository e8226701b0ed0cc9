// Settings fixed for the life of a deployment (deployment_settings): the first start records its
// value; every later one reads it back, to compare with its own.
import { ConfigError } from '../../core/errors.ts';
import type { Sql } from './connect.ts';

/** The value recorded for `name`: `value` if none was, which is then recorded. */
export async function fixedSetting(sql: Sql, name: string, value: string): Promise<string> {
  await sql`
    INSERT INTO deployment_settings (name, value) VALUES (${name}, ${value})
    ON CONFLICT (name) DO NOTHING`;
  const [row] = await sql<{ value: string }[]>`
    SELECT value FROM deployment_settings WHERE name = ${name}`;
  return row!.value;
}

/** The value recorded for `name`, if any. */
export async function settingOf(sql: Sql, name: string): Promise<string | undefined> {
  const [row] = await sql<{ value: string }[]>`
    SELECT value FROM deployment_settings WHERE name = ${name}`;
  return row?.value;
}

/**
 * Refuses a count of partitions other than the one the deployment was created with
 * (`ConfigError`, exit 2): its messages would sit on partitions no worker reads, or one
 * customer's be read by two workers. `inStreams`: the count the streams' partition durables show,
 * for a deployment older than the record: the first start records only a count they agree with.
 * Without it (an operator command), the record is read and never written.
 */
export async function checkPartitions(
  sql: Sql,
  partitions: number,
  inStreams?: () => Promise<number | undefined>,
): Promise<void> {
  let recorded = await settingOf(sql, 'partitions');
  if (recorded === undefined && inStreams) {
    const seen = await inStreams();
    if (seen !== undefined && seen !== partitions)
      throw new ConfigError(
        'RTWS_PARTITIONS',
        `is ${partitions}, but this deployment's streams have durables for ${seen} partitions, and its subjects, durables and leases are numbered by that: set RTWS_PARTITIONS=${seen}`,
      );
    recorded = await fixedSetting(sql, 'partitions', String(partitions));
  }
  if (recorded !== undefined && recorded !== String(partitions))
    throw new ConfigError(
      'RTWS_PARTITIONS',
      `is ${partitions}, but this deployment was created with ${recorded}, and its subjects, durables and leases are numbered by it: set RTWS_PARTITIONS=${recorded}`,
    );
}
