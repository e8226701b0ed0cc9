export type {
  EmulatorStats,
  RecordsOptions,
  SalesforceEmulator,
  SalesforceEmulatorOptions,
} from './api.ts';
export { startSalesforceEmulator } from './emulator.ts';
export type { FaultSpec } from './faults.ts';
export type { PersonOptions, RecordRef } from './person.ts';
export { StateFileError } from './persistence.ts';
export { canonicalId, idChecksum } from './ids.ts';
