// An exclusive hold on a worker id while the process lives: a Postgres session advisory lock on a
// connection of its own. Two live processes then never run under one id, which is what lets a
// restarted worker take back the leases its previous run left (lease-keeper.ts). A process that
// dies loses its session, and the lock with it. So does a live process whose session alone ends (a
// failover, a restart of Postgres, a `pg_terminate_backend`): it looks every `checkMs` and takes
// the lock again on its new session, and says so; if another process took the id meanwhile, it
// logs an error each time it looks, until the id is its own again.
import postgres from 'postgres';
import { RtwsError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/ports.ts';

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

export interface WorkerIdentityOptions {
  readonly log?: Logger;
  /** How often to look that the session holding the lock is still the one that took it. */
  readonly checkMs?: number;
}

export async function lockWorkerIdentity(
  databaseUrl: string,
  workerId: string,
  options: WorkerIdentityOptions = {},
): Promise<WorkerIdentityLock> {
  const log = options.log ?? silentLogger;
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
  const take = async () => {
    const [row] = await sql<{ locked: boolean; pid: number }[]>`
      SELECT pg_try_advisory_lock(hashtext(${key})) AS locked, pg_backend_pid() AS pid`;
    return row?.locked ? row.pid : undefined;
  };
  let holder: number | undefined;
  try {
    holder = await take();
    if (holder === undefined) throw new WorkerIdInUseError(workerId);
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
  let looking: Promise<void> = Promise.resolve();
  const look = async () => {
    const [me] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    if (me?.pid === holder) return;
    holder = await take();
    if (holder !== undefined) log.warn({ workerId }, 'worker id lock taken again on a new session');
    else
      log.error(
        { workerId, code: 'worker_id_in_use' },
        'worker id lock lost with its session, and another live process holds it now; give each process its own id',
      );
  };
  const timer = setInterval(() => {
    looking = looking
      .then(look)
      .catch((err: unknown) =>
        log.warn({ workerId, err: String(err) }, 'worker id lock check failed; will look again'),
      );
  }, options.checkMs ?? 10_000);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await looking;
      await sql`SELECT pg_advisory_unlock(hashtext(${key}))`.catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}
