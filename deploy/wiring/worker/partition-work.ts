// Work a worker does for each partition it holds besides running its actors: the mapping of the
// partition's Stripe events, say.

export interface PartitionWork {
  /** Starts on a partition just taken, after its actors' consumers and before its intents resume. */
  start(partition: number): Promise<void>;
  /** Stops on a partition given up or lost, before its lease goes: what is in hand is finished. */
  stop(partition: number): Promise<void>;
  /** The stream and the durable of each of a partition's consumers, counted in the consumer lag. */
  readonly lagSources: readonly (readonly [string, (partition: number) => string])[];
}

/** Several kinds of work on each partition: started in order, stopped together. */
export function allWork(works: readonly (PartitionWork | undefined)[]): PartitionWork | undefined {
  const all = works.filter((w): w is PartitionWork => w !== undefined);
  if (all.length <= 1) return all[0];
  return {
    async start(partition) {
      for (const w of all) await w.start(partition);
    },
    async stop(partition) {
      await Promise.all(all.map((w) => w.stop(partition)));
    },
    lagSources: all.flatMap((w) => w.lagSources),
  };
}
