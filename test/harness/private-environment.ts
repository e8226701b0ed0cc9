// A suite's environment on a private NATS or Postgres, which the suite may crash and restart
// without touching the servers the other suites share.
import { setTimeout as sleep } from 'node:timers/promises';
import { privateNats, privatePostgres, type PrivateServer } from './private-servers.ts';
import { observe, testEnvironment, type Observer, type TestEnvironment } from './rtws.ts';

export interface PrivateEnvironment {
  /** The private server: crash it and start it again at will. */
  readonly server: PrivateServer;
  readonly t: TestEnvironment;
  readonly o: Observer;
  /** Closes the observer, removes the suite's database and namespace, and stops the server. */
  close(): Promise<void>;
}

export async function onPrivateNats(): Promise<PrivateEnvironment> {
  const server = await privateNats();
  return observed(server, await testEnvironment({ natsUrl: server.url }));
}

export async function onPrivatePostgres(): Promise<PrivateEnvironment> {
  const server = await privatePostgres();
  return observed(server, await testEnvironment({ postgresAdminUrl: server.url }));
}

async function observed(server: PrivateServer, t: TestEnvironment): Promise<PrivateEnvironment> {
  const o = await observe(t);
  return {
    server,
    t,
    o,
    async close() {
      await o.close();
      await t.cleanup();
      await server.stop();
    },
  };
}

/** Crashes the server and starts it again, `rounds` times, each time after `upMs` and for `downMs`. */
export async function crashAndRestart(
  server: PrivateServer,
  rounds: number,
  { upMs = 1_000, downMs = 1_000 } = {},
): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await sleep(upMs);
    await server.crash();
    await sleep(downMs);
    await server.start();
  }
}
