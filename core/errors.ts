// Named errors with a stable `code`; the HTTP edge maps codes to statuses.

/**
 * Every code an `RtwsError` carries, in one list: a new one is added here, and a switch over them
 * breaks the build until it handles it.
 */
export type ErrorCode =
  | 'validation_failed'
  | 'not_found'
  | 'precondition_failed'
  | 'idempotency_key_reused'
  | 'customer_erased'
  | 'conflict'
  | 'unavailable'
  | 'concurrency'
  | 'config_invalid'
  | 'apply_refused'
  | 'account_mismatch'
  | 'rebind_unfinished'
  | 'binding_changed'
  | 'private_server_failed'
  | 'server_unreachable'
  | 'newer_version'
  // The actor runtime (actors/runtime/errors.ts).
  | 'lease_lost'
  | 'snapshot_format'
  | 'snapshot_contention'
  | 'actor_erased'
  // The adapters and the wiring.
  | 'bad_signature'
  | 'timeout'
  | 'match_not_sent'
  | 'not_linked'
  | 'invoice_event_rejected'
  | 'worker_config_invalid'
  | 'worker_id_in_use';

export class RtwsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad input from a client; `field` names the offending field. */
export class ValidationError extends RtwsError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super('validation_failed', message);
    this.field = field;
  }
}

export class NotFoundError extends RtwsError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** If-Match named a version that is no longer current. */
export class PreconditionFailedError extends RtwsError {
  readonly currentVersion: number;
  constructor(expected: number, current: number) {
    super('precondition_failed', `version is ${current}, not ${expected}`);
    this.currentVersion = current;
  }
}

/** The same Idempotency-Key was sent with a different request. */
export class IdempotencyKeyReusedError extends RtwsError {
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
}

/**
 * The key's first request made or named a customer since erased: its answer held the person, so
 * it is not replayed, and the request is not run again either (that would bring the person back).
 */
export class IdempotencyKeyErasedError extends RtwsError {
  constructor() {
    super(
      'customer_erased',
      'the customer this Idempotency-Key made or named was erased; its request is not run again',
    );
  }
}

export class ConflictError extends RtwsError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** A dependency (Postgres, NATS) is unreachable; the request may be retried. */
export class UnavailableError extends RtwsError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('unavailable', `${what} is unavailable`, options);
  }
}

/** A JetStream expected-sequence mismatch or a KV revision conflict. */
export class ConcurrencyError extends RtwsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('concurrency', message, options);
  }
}

export class ConfigError extends RtwsError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('config_invalid', `${variable}: ${message}`);
    this.variable = variable;
  }
}

/** Postgres refused a change from a target for good (a data or constraint error): retrying cannot help. */
export class PermanentApplyError extends RtwsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('apply_refused', message, options);
  }
}

interface Account {
  readonly id: string;
  readonly livemode: boolean;
}

const described = (a: Account) => `${a.id} (${a.livemode ? 'live' : 'test mode'})`;

/**
 * A message or a snapshot written by a newer rtws, in a format this process does not know: during
 * a rolling upgrade. It is left for a process that can read it, never dead-lettered.
 */
export class NewerVersionError extends RtwsError {
  constructor(what: string) {
    super('newer_version', `${what} was written by a newer rtws; this process cannot read it`);
  }
}

/** An external account (or mode) other than the one this database is bound to. */
export class AccountMismatchError extends RtwsError {
  constructor(
    readonly target: string,
    readonly boundTo: Account,
    readonly found: Account,
    credentials = 'key',
  ) {
    super(
      'account_mismatch',
      `this database is bound to ${target} account ${described(boundTo)}, but the configured ` +
        `${credentials} belong${credentials.endsWith('s') ? '' : 's'} to ${described(found)}. rtws will not run against another account: every ` +
        `linked customer would look missing there. If the switch is on purpose, stop every rtws ` +
        `worker and run: npm run rtws -- rebind ${target} --confirm ${found.id}`,
    );
  }
}

/**
 * A rebind moved the binding but did not reset the actors (it was cut off after its commit): they
 * still hold the old account's ids and pushes, so nothing may run until the rebind runs again.
 */
export class RebindUnfinishedError extends RtwsError {
  constructor(
    readonly target: string,
    accountId: string,
  ) {
    super(
      'rebind_unfinished',
      `the rebind of ${target} to ${accountId} did not finish: the actors still hold the old ` +
        `account's ids. Stop every rtws process and run it again: npm run rtws -- rebind ` +
        `${target} --confirm ${accountId}`,
    );
  }
}

/**
 * The database is bound to another account than this process knows: a rebind since it started.
 * What it holds is kept until it is restarted.
 */
export class BindingChangedError extends RtwsError {
  constructor(readonly target: string) {
    super(
      'binding_changed',
      `the ${target} binding changed since this process started (a rebind): restart it`,
    );
  }
}

/** A private Postgres or NATS server (see RTWS_EMBEDDED) could not be started. */
export class PrivateServerError extends RtwsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('private_server_failed', message, options);
  }
}

/** Postgres or NATS does not answer at start, and rtws starts none in its place: it says why. */
export class ServerUnreachableError extends RtwsError {
  constructor(message: string) {
    super('server_unreachable', message);
  }
}
