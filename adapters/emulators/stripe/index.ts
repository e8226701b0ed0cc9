export { startStripeEmulator } from './emulator.ts';
export type { StripeEmulator } from './emulator.ts';
export type { StripeEmulatorControl, FlushResult, EmulatorStats } from './control.ts';
export type { StripeEmulatorOptions, WebhookEndpointOption } from './options.ts';
export {
  InvalidOptionError,
  DEFAULT_API_VERSION,
  DEFAULT_RETRY_SCHEDULE_MS,
  STRIPE_LIVE_RETRY_SCHEDULE_MS,
  STRIPE_TEST_MODE_RETRY_SCHEDULE_MS,
} from './options.ts';
export type { FaultRule, DelayRule } from './faults.ts';
export type { DeliveryAttempt, WebhookBehaviour } from './webhook-dispatcher.ts';
export type { RequestRecord, RequestFilter } from './request-log.ts';
export { signatureHeader } from './signature.ts';
