// The account a target is bound to, checked at start: the first start binds the database to the
// account the credentials belong to; a start with another one refuses to run (AccountMismatchError,
// exit 2). While the target cannot be reached to say which account it is, the target stays paused
// and the check is retried; the API and the other targets run meanwhile. A target may check more
// once its account is known (`verify`: Salesforce's object and field map); a ConfigError there
// refuses the start the same way, and so does a rebind that did not finish (RebindUnfinishedError).
import { AccountMismatchError, ConfigError, RebindUnfinishedError } from '../../../core/errors.ts';
import type { Logger } from '../../../core/ports.ts';
import type { Sql } from '../../../adapters/postgres/connect.ts';
import { bindingOf, bindOnce } from '../../../adapters/postgres/bindings.ts';

export interface TargetAccount {
  readonly id: string;
  readonly livemode: boolean;
}

export interface TargetBinding {
  /** Whether calls may go to the target: its account is the one this database is bound to. */
  readonly bound: boolean;
  /** The account this database is bound to: verified, or as recorded while unverified. */
  readonly accountId: string | undefined;
  /** Its mode, as `accountId` is known. */
  readonly livemode: boolean | undefined;
  stop(): void;
}

export interface TargetBindingOptions {
  readonly target: string;
  /** Asks the target which account the configured credentials belong to. */
  readonly account: () => Promise<TargetAccount>;
  /**
   * Run once the account is the bound one, before calls may go; a ConfigError refuses, anything
   * else is retried like an unreachable target.
   */
  readonly verify?: () => Promise<void>;
  /** What the credentials are called in messages ("key", "credentials"). */
  readonly credentials: string;
  readonly sql: Sql;
  readonly log: Logger;
  /** Between checks while the target cannot be reached (default 5 s). */
  readonly retryMs?: number;
}

/** Resolves once the first check has an answer or failed to get one; rejects on a mismatch. */
export async function checkTargetBinding(o: TargetBindingOptions): Promise<TargetBinding> {
  const log = o.log.child({ component: `${o.target}-binding` });
  const name = o.target[0]!.toUpperCase() + o.target.slice(1);
  let bound = false;
  const recorded = await bindingOf(o.sql, o.target);
  if (recorded?.actorsResetPending) throw new RebindUnfinishedError(o.target, recorded.accountId);
  let accountId = recorded?.accountId;
  let livemode = recorded?.livemode;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    const account = await o.account();
    const binding = await bindOnce(o.sql, {
      target: o.target,
      accountId: account.id,
      livemode: account.livemode,
    });
    if (binding.accountId !== account.id || binding.livemode !== account.livemode)
      throw new AccountMismatchError(
        o.target,
        { id: binding.accountId, livemode: binding.livemode },
        account,
        o.credentials,
      );
    accountId = binding.accountId;
    livemode = binding.livemode;
    await o.verify?.();
    bound = true;
    log.info({ account: account.id, livemode: account.livemode }, `${name} account verified`);
  };
  const retry = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      check().catch((err: unknown) => {
        if (isRefusal(err)) {
          // Too late to refuse to start: the target stays paused for good, and says why.
          log.error({ reason: err.message }, `${name} refused; the ${name} target stays paused`);
          return;
        }
        log.warn(
          { reason: String(err) },
          `${name} account not verified yet; the ${name} target waits`,
        );
        retry();
      });
    }, o.retryMs ?? 5_000);
    timer.unref();
  };
  try {
    await check();
  } catch (err) {
    if (isRefusal(err)) throw err;
    log.warn(
      { reason: String(err) },
      `${name} cannot say which account the ${o.credentials} belong to; the ${name} target waits and retries`,
    );
    retry();
  }
  return {
    get bound() {
      return bound;
    },
    get accountId() {
      return accountId;
    },
    get livemode() {
      return livemode;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** What no retry can change: another account, or a configuration the target refuses. */
function isRefusal(err: unknown): err is AccountMismatchError | ConfigError {
  return err instanceof AccountMismatchError || err instanceof ConfigError;
}
