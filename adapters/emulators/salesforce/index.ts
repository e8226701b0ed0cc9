export type {
  ChangeEventData,
  EmulatorStats,
  EventStats,
  ForgetDeletedOptions,
  ForgetEventsOptions,
  RecordsOptions,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
} from './api.ts';
export type {
  ChangeEventHeader,
  ChangeType,
  GapChangeType,
  GapEventSpec,
  OverflowEventSpec,
} from './cdc/index.ts';
export { startSalesforceEmulator } from './emulator.ts';
export type { FaultSpec } from './faults.ts';
export type { PersonOptions, RecordRef } from './person.ts';
export { StateFileError } from './persistence.ts';
export { canonicalId, idChecksum } from './ids.ts';
