import type { Clock } from './clock.ts';
import type { Emit, EventCause } from './events.ts';
import type { FormObject } from './form.ts';
import type { EmulatorState } from './state.ts';

/** One API request as a handler sees it: already authenticated and decoded. */
export interface ApiRequest extends EventCause {
  readonly requestId: string;
  readonly params: FormObject;
  /** Unix seconds for everything this request creates or stamps. */
  readonly now: number;
}

/** What handlers may touch. */
export interface ApiServices {
  readonly state: EmulatorState;
  readonly clock: Clock;
  readonly emit: Emit;
  /** Registers a webhook endpoint and returns it with its secret. */
  readonly addEndpoint: (
    url: string,
    secret: string | undefined,
    enabledEvents: string[],
    cause: EventCause,
  ) => object;
}

export type Handler = (req: ApiRequest, svc: ApiServices, ids: readonly string[]) => object;
