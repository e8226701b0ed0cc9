// Builds the state one emulator instance holds, and restores it from what dataDir saved.
import type { SalesforceEmulatorOptions } from './api.ts';
import type { Credentials, Identity } from './auth.ts';
import { TokenIssuer } from './auth.ts';
import { ChangeDataCapture } from './cdc/index.ts';
import { DeleteLog } from './delete-log.ts';
import { FaultRules } from './faults.ts';
import type { SavedState } from './saved-state.ts';
import { QueryCursors } from './soql/cursors.ts';
import type { EmulatorState } from './state.ts';
import { RecordStore } from './store.ts';
import { ApiUsage } from './usage.ts';

const HOUR = 60 * 60 * 1000;

export interface StateParts {
  readonly options: SalesforceEmulatorOptions;
  readonly credentials: Credentials;
  readonly identity: Identity;
  /** The first record id sequence number. */
  readonly sequence: number;
  /** Called on every change worth saving. */
  readonly changed: () => void;
  readonly loginUrl: () => string;
}

export function buildState(parts: StateParts): EmulatorState {
  const { options, changed } = parts;
  const cdc = new ChangeDataCapture({
    retentionMs: options.eventRetentionMs ?? 72 * HOUR,
    dailyDeliveredEventLimit: options.dailyDeliveredEventLimit ?? 50_000,
    onChange: changed,
  });
  // Every write to the store is captured, so that it becomes a change event when it commits.
  const store = new RecordStore(changed, parts.sequence, parts.identity.userId, cdc.capture);
  return {
    store,
    cdc,
    deleteLog: new DeleteLog(options.deletedRetentionMs ?? 15 * 24 * HOUR, store),
    tokens: new TokenIssuer(
      parts.credentials,
      parts.identity,
      options.tokenTtlMs ?? 2 * HOUR,
      changed,
    ),
    usage: new ApiUsage(options.dailyApiLimit ?? 100_000),
    faults: new FaultRules(),
    cursors: new QueryCursors(options.queryBatchSize ?? 2000),
    loginUrl: parts.loginUrl,
  };
}

export function restoreState(state: EmulatorState, saved: SavedState): void {
  state.store.load(saved.store);
  state.tokens.load(saved.tokens);
  if (saved.changeEvents) state.cdc.bus.load(saved.changeEvents);
  state.deleteLog.load(saved.deleteLog);
}
