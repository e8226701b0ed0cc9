// The options every int-level fast-check property runs with. A failure reports its seed and path;
// RTWS_PROPERTY_SEED with RTWS_PROPERTY_PATH replays that one interleaving alone, and the check's
// own error is written into the report, since uvu prints the message and not the error's cause.
import type fc from 'fast-check';
import { testSize } from './services.ts';

export function propertyOptions<Ts>(
  runs: Parameters<typeof testSize>[0],
  fallback: number,
): fc.Parameters<Ts> {
  const seed = process.env.RTWS_PROPERTY_SEED;
  const path = process.env.RTWS_PROPERTY_PATH;
  if (seed !== undefined && seed !== '' && !Number.isInteger(Number(seed)))
    throw new Error(`RTWS_PROPERTY_SEED must be a whole number, not "${seed}"`);
  return {
    numRuns: testSize(runs, fallback),
    endOnFailure: true,
    includeErrorInReport: true,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path } : {}),
  };
}
