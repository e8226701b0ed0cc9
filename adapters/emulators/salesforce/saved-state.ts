// What dataDir holds, and the check that a file read back is one.
import type { Identity, TokenSnapshot } from './auth.ts';
import type { BusSnapshot } from './cdc/bus.ts';
import type { DeleteLogSnapshot } from './delete-log.ts';
import { isPlainObject } from './http.ts';
import { StateFileError } from './persistence.ts';
import type { StoreSnapshot } from './store.ts';

export interface SavedState {
  readonly format: 1;
  readonly identity: Identity;
  /** Absent from files saved before it existed. */
  readonly personUserId?: string;
  readonly secrets: {
    readonly clientId: string;
    readonly clientSecret: string;
    readonly password: string;
  };
  readonly store: StoreSnapshot;
  readonly tokens: TokenSnapshot;
  /** The retained change events; absent from files saved before Change Data Capture. */
  readonly changeEvents?: BusSnapshot;
  readonly deleteLog?: DeleteLogSnapshot;
}

export function savedState(value: unknown, path: string): SavedState | undefined {
  if (value === undefined) return undefined;
  const field = (v: unknown, key: string): unknown => (isPlainObject(v) ? v[key] : undefined);
  const events = field(value, 'changeEvents');
  const valid =
    field(value, 'format') === 1 &&
    typeof field(field(value, 'identity'), 'orgId') === 'string' &&
    typeof field(field(value, 'secrets'), 'clientSecret') === 'string' &&
    Array.isArray(field(field(value, 'store'), 'records')) &&
    isPlainObject(field(field(value, 'tokens'), 'access')) &&
    (events === undefined || Array.isArray(field(events, 'events')));
  if (!valid) throw new StateFileError(path);
  return value as SavedState;
}
