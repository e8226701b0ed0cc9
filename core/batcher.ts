// Group commit: calls made while the batches in flight are busy wait, and go together as the next
// batch once one of them is back. A call made while a batch can start waits only for the turn of
// the event loop, to meet the calls made in that turn. So nothing lingers when the load is light,
// and batches grow as the load does.

export interface BatcherOptions<T, R> {
  /**
   * Carries out a batch. Settles with one result per item, in the items' order: an Error there
   * rejects that item's call alone, and a promise answers its call when it settles (the batch's
   * turn is over before that: see `batchOrEachAlone`). A rejection rejects the whole batch's calls.
   */
  readonly run: (items: readonly T[]) => Promise<readonly Settled<R>[]>;
  /** Items in one batch, at most. */
  readonly maxItems: number;
  /** Batches in flight at once. */
  readonly maxInFlight: number;
}

/** An item's result: its value, its own failure, or either later. */
export type Settled<R> = R | Error | Promise<R | Error>;

interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (r: R) => void;
  readonly reject: (err: Error) => void;
}

export class Batcher<T, R> {
  readonly #o: BatcherOptions<T, R>;
  #waiting: Waiting<T, R>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(options: BatcherOptions<T, R>) {
    if (!(options.maxItems >= 1 && options.maxInFlight >= 1))
      throw new RangeError('a batch and the batches in flight must allow at least one');
    this.#o = options;
  }

  /** Batches in flight now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#o.maxInFlight || this.#waiting.length === 0)
      return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#inFlight < this.#o.maxInFlight && this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#o.maxItems);
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  async #send(batch: readonly Waiting<T, R>[]): Promise<void> {
    let results: readonly Settled<R>[];
    try {
      results = await this.#o.run(batch.map((w) => w.item));
      if (results.length !== batch.length)
        throw new Error(`a batch of ${batch.length} gave ${results.length} results`);
    } catch (err) {
      const error = err instanceof Error ? err : new Error('batch failed', { cause: err });
      for (const w of batch) w.reject(error);
      return;
    }
    const answer = (w: Waiting<T, R>, r: R | Error) =>
      r instanceof Error ? w.reject(r) : w.resolve(r);
    batch.forEach((w, i) => {
      const r = results[i]!;
      if (r instanceof Promise)
        void r.then(
          (settled) => answer(w, settled),
          (err: unknown) => answer(w, asError(err)),
        );
      else answer(w, r);
    });
  }
}

/**
 * A `run` for a batcher whose items can also be carried out alone: several go as one `batch`; a
 * batch that fails, where `eachAlone(err)` agrees, is carried out again item by item with `one`,
 * so that each gets its own answer and only an item at fault fails. Those items answer each as it
 * ends, and their batch's turn is over once they are sent: one that waits (for a row locked
 * elsewhere, say) holds up neither the others' answers nor the next batch. A lone item goes by
 * `one`, in its turn. A failure `eachAlone` refuses rejects the whole batch.
 */
export async function batchOrEachAlone<T, R>(
  items: readonly T[],
  o: {
    readonly batch: (items: readonly T[]) => Promise<readonly (R | Error)[]>;
    readonly one: (item: T) => Promise<R>;
    readonly eachAlone: (err: unknown) => boolean;
  },
): Promise<readonly Settled<R>[]> {
  const alone = (item: T) => o.one(item).catch(asError);
  if (items.length === 1) return [await alone(items[0]!)];
  try {
    return await o.batch(items);
  } catch (err) {
    if (!o.eachAlone(err)) throw err;
  }
  return items.map(alone);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error('failed', { cause: err });
}
