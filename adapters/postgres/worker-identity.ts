// An exclusive hold on a worker id while the process lives: a Postgres session advisory lock on a
// connection of its own. Two live processes then never run under one id, which is what lets a
// restarted worker take back the leases its previous run left (lease-keeper.ts). A process that
// dies loses its session, and the lock with it.
import postgres from 'postgres';
import { RtwsError } from '../../core/errors.ts';

/** Another live process runs under this worker id. */
export class WorkerIdInUseError extends RtwsError {
  readonly workerId: string;
  constructor(workerId: string) {
    super(
      'worker_id_in_use',
      `worker id "${workerId}" is in use by another live process; give each process its own id`,
    );
    this.workerId = workerId;
  }
}

export interface WorkerIdentityLock {
  /** Frees the id; call once the worker no longer acts (stopped or abandoned). */
  release(): Promise<void>;
}

export async function lockWorkerIdentity(
  databaseUrl: string,
  workerId: string,
): Promise<WorkerIdentityLock> {
  // Not connectPostgres: the lock lasts exactly as long as this session, so the connection is
  // never recycled for being idle or old.
  const sql = postgres(databaseUrl, {
    max: 1,
    idle_timeout: undefined,
    max_lifetime: null,
    connect_timeout: 5,
    onnotice: () => {},
    connection: {
      application_name: 'rtws-worker-identity',
      // The server then frees the id of a host that vanished within about 25 s, not after the
      // system's keepalive default (hours), so its replacement can start.
      tcp_keepalives_idle: 10,
      tcp_keepalives_interval: 5,
      tcp_keepalives_count: 3,
    },
  });
  const key = `rtws:worker:${workerId}`;
  try {
    const [row] = await sql<{ locked: boolean }[]>`
      SELECT pg_try_advisory_lock(hashtext(${key})) AS locked`;
    if (!row?.locked) throw new WorkerIdInUseError(workerId);
  } catch (err) {
    await sql.end();
    throw err;
  }
  return {
    async release() {
      await sql`SELECT pg_advisory_unlock(hashtext(${key}))`.catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}
