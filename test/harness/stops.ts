/**
 * What a test stack started, to stop in reverse order: `close()` stops each (a failing stop does
 * not keep the others from stopping), after a later start failed or when the suite ends.
 */
export function stops() {
  const started: (() => Promise<void>)[] = [];
  return {
    push(stop: () => Promise<void>) {
      started.push(stop);
    },
    async close() {
      for (const stop of started.reverse()) await stop().catch(() => {});
    },
  };
}
