import type { Route } from './route.ts';
import { methodNotAllowed } from './route.ts';

/** `GET /limits`: the daily API budget and event delivery allocation, in Salesforce's shape. */
export function limitsRoute(method: string): Route {
  if (method !== 'GET') return methodNotAllowed(method, 'GET,HEAD');
  return {
    name: 'limits',
    run: (_r, { usage, cdc }) => {
      const max = usage.stats().dailyApiLimit;
      return {
        status: 200,
        body: {
          DailyApiRequests: { Max: max, Remaining: usage.remaining() },
          DailyDeliveredPlatformEvents: {
            Max: cdc.delivery.stats().dailyDeliveredEventLimit,
            Remaining: cdc.delivery.remaining(),
          },
        },
      };
    },
  };
}
