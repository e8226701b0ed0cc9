// Processes started together (a compose file, a rollout) all create the database they are given
// when it is missing: however their creates interleave, every one of them starts.
import postgres from 'postgres';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureDatabase } from '../../adapters/postgres/connect.ts';
import { sharedServices, uniqueName, withDatabase } from '../harness/services.ts';

test('eight processes creating one missing database at once all succeed', async () => {
  const { postgresAdminUrl } = await sharedServices();
  const name = uniqueName('rtws_t_ensure_');
  const url = withDatabase(postgresAdminUrl, name);
  const admin = postgres(postgresAdminUrl, { max: 1, onnotice: () => {} });
  try {
    for (let round = 0; round < 3; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => ensureDatabase(url)),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed, [], `round ${round}`);
      const rows = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
      assert.is(rows.length, 1);
      await admin.unsafe(`DROP DATABASE ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

test.run();
