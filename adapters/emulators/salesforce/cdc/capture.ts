// Collects the writes of one unit of work (a REST request, a person's edit) so that they commit as
// one Salesforce transaction: one transactionKey, sequence numbers in write order. A write that an
// allOrNone rollback undoes is forgotten before the commit, as it never happened.
import type { ChangeSink, RecordChange } from '../store.ts';

/** Who made a transaction's changes, as `changeOrigin` names it; empty for a person in the UI. */
export type ChangeOrigin = string;

export type CommitHandler = (origin: ChangeOrigin, changes: readonly RecordChange[]) => void;

export class ChangeCapture implements ChangeSink {
  private open: RecordChange[] | undefined;

  constructor(private readonly commit: CommitHandler) {}

  /**
   * Runs `fn` as one transaction and commits what it wrote, even when it throws: a failed request
   * has undone its own writes by then (per item or allOrNone), and what is left was committed.
   */
  run<T>(origin: ChangeOrigin, fn: () => T): T {
    // The emulator handles a request synchronously, so an outer transaction simply absorbs an inner one.
    if (this.open) return fn();
    const changes: RecordChange[] = [];
    this.open = changes;
    try {
      return fn();
    } finally {
      this.open = undefined;
      if (changes.length > 0) this.commit(origin, changes);
    }
  }

  record(change: RecordChange): () => void {
    const open = this.open;
    if (!open) {
      // A write outside any unit of work commits on its own; nothing can undo it afterwards.
      this.commit('', [change]);
      return () => undefined;
    }
    open.push(change);
    return () => {
      const at = open.lastIndexOf(change);
      if (at >= 0) open.splice(at, 1);
    };
  }
}

/** `com/salesforce/api/rest/62.0;client=rtws`, from the URL version and `Sforce-Call-Options`. */
export function restChangeOrigin(version: string, callOptions: string | undefined): ChangeOrigin {
  const client = /(?:^|,)\s*client=([^,]*)/.exec(callOptions ?? '')?.[1]?.trim();
  const base = `com/salesforce/api/rest/${version.replace(/^v/, '')}`;
  return client ? `${base};client=${client}` : base;
}
