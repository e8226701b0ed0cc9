// Everything one emulator instance holds, shared by its request handlers.
import type { TokenIssuer } from './auth.ts';
import type { ChangeDataCapture } from './cdc/index.ts';
import type { DeleteLog } from './delete-log.ts';
import type { FaultRules } from './faults.ts';
import type { QueryCursors } from './soql/cursors.ts';
import type { RecordStore } from './store.ts';
import type { ApiUsage } from './usage.ts';

export interface EmulatorState {
  readonly store: RecordStore;
  readonly tokens: TokenIssuer;
  readonly usage: ApiUsage;
  readonly faults: FaultRules;
  readonly cursors: QueryCursors;
  readonly cdc: ChangeDataCapture;
  readonly deleteLog: DeleteLog;
  /** The base URL: login URL and instance URL alike. */
  loginUrl(): string;
}

/** A REST request below `/services/data/vNN.N/`, as the handlers see it. */
export interface RestRequest {
  readonly method: string;
  /** The full path, without the query string. */
  readonly path: string;
  /** Percent-decoded path segments after the version. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** `vNN.N`. */
  readonly version: string;
  readonly majorVersion: number;
  /** A request header, lowercase name. */
  header(name: string): string | undefined;
  /** The parsed JSON body; throws JSON_PARSER_ERROR when malformed. */
  json(): unknown;
}
