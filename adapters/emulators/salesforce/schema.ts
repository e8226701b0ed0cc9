// The sObjects the emulator knows, with the standard fields rtws uses and its custom fields.
// Field names are matched case-insensitively, as Salesforce does, and reported in canonical case.

export type FieldType =
  'id' | 'string' | 'textarea' | 'phone' | 'email' | 'reference' | 'datetime' | 'boolean';

/** One field as the emulator enforces and describes it. */
export interface FieldDef {
  readonly name: string;
  readonly label: string;
  readonly type: FieldType;
  readonly length: number;
  /** Must be given on create and can never be nulled. */
  readonly required: boolean;
  readonly createable: boolean;
  readonly updateable: boolean;
  readonly externalId: boolean;
  readonly unique: boolean;
  readonly caseSensitive: boolean;
  readonly referenceTo?: string;
  /** For a reference: the name a relationship query uses; default the target's name. */
  readonly relationshipName?: string;
  readonly custom: boolean;
}

/** One sObject type. */
export interface ObjectDef {
  readonly name: string;
  readonly label: string;
  readonly labelPlural: string;
  readonly keyPrefix: string;
  readonly fields: readonly FieldDef[];
  /** Lowercased field name → field. */
  readonly byLowerName: ReadonlyMap<string, FieldDef>;
}

type FieldSpec = Partial<FieldDef> & Pick<FieldDef, 'name' | 'type'>;

function field(spec: FieldSpec): FieldDef {
  const system = spec.type === 'id' || spec.type === 'datetime' || spec.type === 'boolean';
  return {
    label: spec.name.replace(/__c$/, '').replace(/_/g, ' '),
    length:
      spec.type === 'textarea' ? 32000 : spec.type === 'id' || spec.type === 'reference' ? 18 : 255,
    required: false,
    createable: !system,
    updateable: !system,
    externalId: false,
    unique: false,
    caseSensitive: false,
    custom: spec.name.endsWith('__c'),
    ...spec,
  };
}

// Who created and last changed a record: Salesforce sets these, no caller can.
const userStamp = (name: string, label: string, relationshipName: string): FieldSpec => ({
  name,
  type: 'reference',
  label,
  referenceTo: 'User',
  relationshipName,
  createable: false,
  updateable: false,
});

const systemFields: FieldSpec[] = [
  { name: 'Id', type: 'id', label: 'Record ID' },
  { name: 'IsDeleted', type: 'boolean', label: 'Deleted' },
  { name: 'CreatedDate', type: 'datetime', label: 'Created Date' },
  userStamp('CreatedById', 'Created By ID', 'CreatedBy'),
  { name: 'LastModifiedDate', type: 'datetime', label: 'Last Modified Date' },
  userStamp('LastModifiedById', 'Last Modified By ID', 'LastModifiedBy'),
  { name: 'SystemModstamp', type: 'datetime', label: 'System Modstamp' },
];

// Rtws_Id__c is the unique, case-sensitive key rtws upserts by. Legacy_Id__c is an external id
// that is deliberately not unique, so that an upsert can match several records (HTTP 300).
const customFields: FieldSpec[] = [
  {
    name: 'Rtws_Id__c',
    type: 'string',
    label: 'rtws Id',
    externalId: true,
    unique: true,
    caseSensitive: true,
  },
  { name: 'Rtws_Email__c', type: 'email', label: 'rtws Email', length: 80 },
  { name: 'Legacy_Id__c', type: 'string', label: 'Legacy Id', externalId: true },
];

function object(name: string, keyPrefix: string, own: FieldSpec[]): ObjectDef {
  const fields = [...systemFields, ...own, ...customFields].map(field);
  return {
    name,
    label: name,
    labelPlural: `${name}s`,
    keyPrefix,
    fields,
    byLowerName: new Map(fields.map((f) => [f.name.toLowerCase(), f])),
  };
}

const address = (prefix: string): FieldSpec[] => [
  { name: `${prefix}Street`, type: 'textarea', length: 255 },
  { name: `${prefix}City`, type: 'string', length: 40 },
  { name: `${prefix}State`, type: 'string', length: 80 },
  { name: `${prefix}PostalCode`, type: 'string', length: 20 },
  { name: `${prefix}Country`, type: 'string', length: 80 },
];

export const ACCOUNT = object('Account', '001', [
  { name: 'Name', type: 'string', required: true, label: 'Account Name' },
  { name: 'Phone', type: 'phone', length: 40 },
  ...address('Billing'),
  { name: 'Description', type: 'textarea' },
]);

export const CONTACT = object('Contact', '003', [
  { name: 'LastName', type: 'string', required: true, length: 80, label: 'Last Name' },
  { name: 'FirstName', type: 'string', length: 40, label: 'First Name' },
  { name: 'Email', type: 'email', length: 80 },
  { name: 'Phone', type: 'phone', length: 40 },
  ...address('Mailing'),
  { name: 'AccountId', type: 'reference', referenceTo: 'Account', label: 'Account ID' },
  { name: 'Description', type: 'textarea' },
]);

export const OBJECTS: readonly ObjectDef[] = [ACCOUNT, CONTACT];

const byLowerName = new Map(OBJECTS.map((o) => [o.name.toLowerCase(), o]));

/** The object for a type name in any case, or undefined. */
export function findObject(name: string): ObjectDef | undefined {
  return byLowerName.get(name.toLowerCase());
}

export function findField(object: ObjectDef, name: string): FieldDef | undefined {
  return object.byLowerName.get(name.toLowerCase());
}

export const ORG_KEY_PREFIX = '00D';
export const USER_KEY_PREFIX = '005';
