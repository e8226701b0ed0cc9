// The configured object, external-id field and field map, checked against the object's describe
// (`GET /sobjects/{object}/describe`, one call), so that a map Salesforce would refuse stops
// startup instead of failing every customer one by one.
import type { Connection } from 'jsforce';
import { mappedFields, type MappedField } from './mapper.ts';
import { fieldMapOf, type SalesforceTarget } from './target.ts';

/** What the check reads of each field of the describe. */
export interface DescribedField {
  readonly name: string;
  readonly type: string;
  readonly createable: boolean;
  readonly updateable: boolean;
  readonly nillable: boolean;
  readonly defaultedOnCreate: boolean;
  readonly externalId: boolean;
  readonly unique: boolean;
  readonly restrictedPicklist?: boolean;
}

/**
 * Field types that hold a canonical value, a string: text of any length, email, phone, URL and
 * picklists. An `email` field holds only `email` (Salesforce refuses anything else there), and a
 * restricted picklist is never written (it refuses values outside its list).
 */
export const TEXT_TYPES: readonly string[] = [
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'combobox',
];

/** One disagreement; `setting` is the variable to change. */
export interface TargetProblem {
  readonly setting: 'SALESFORCE_FIELD_MAP' | 'SALESFORCE_EXTERNAL_ID_FIELD';
  readonly field: string;
  readonly message: string;
}

/** The object's fields, as the integration user sees them. */
export async function describeFields(conn: Connection, object: string): Promise<DescribedField[]> {
  const described = await conn.describe(object);
  return described.fields;
}

/** Every way the target disagrees with the object's fields; none when it can be used. */
export function targetProblems(
  target: SalesforceTarget,
  fields: readonly DescribedField[],
): TargetProblem[] {
  const byLowerName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const mapped = mappedFields(fieldMapOf(target));
  const problems: TargetProblem[] = [];
  const ext = byLowerName.get(target.externalIdField.toLowerCase());
  const extProblem = externalIdProblem(target, ext);
  if (extProblem)
    problems.push({
      setting: 'SALESFORCE_EXTERNAL_ID_FIELD',
      field: target.externalIdField,
      message: extProblem,
    });
  for (const m of mapped) {
    const problem = mappedProblem(target.object, m, byLowerName.get(m.field.toLowerCase()));
    if (problem)
      problems.push({ setting: 'SALESFORCE_FIELD_MAP', field: m.field, message: problem });
  }
  const written = new Set(
    mapped.filter((m) => m.direction !== 'from_salesforce').map((m) => m.field.toLowerCase()),
  );
  if (ext) written.add(ext.name.toLowerCase());
  for (const f of fields)
    if (f.createable && !f.nillable && !f.defaultedOnCreate && !written.has(f.name.toLowerCase()))
      problems.push({
        setting: 'SALESFORCE_FIELD_MAP',
        field: f.name,
        message: `${target.object}.${f.name} is required on create, and the map writes nothing to it`,
      });
  return problems;
}

function externalIdProblem(
  target: SalesforceTarget,
  f: DescribedField | undefined,
): string | undefined {
  const name = `${target.object}.${target.externalIdField}`;
  if (!f) return `${name} does not exist, or the integration user cannot see it`;
  if (!f.externalId) return `${name} is not an external id`;
  if (!f.unique)
    return `${name} is an external id, but not unique: an upsert could match several records`;
  if (!f.createable) return `${name} is not createable by the integration user`;
  return undefined;
}

function mappedProblem(
  object: string,
  m: MappedField,
  f: DescribedField | undefined,
): string | undefined {
  const name = `${object}.${m.field}`;
  if (!f) return `${name} does not exist, or the integration user cannot see it`;
  if (!TEXT_TYPES.includes(f.type))
    return `${name} is of type ${f.type}, which cannot hold ${m.canonical} (it takes ${TEXT_TYPES.join(', ')})`;
  if (f.type === 'email' && m.canonical !== 'email')
    return `${name} is an email field, which holds only email, not ${m.canonical}`;
  if (m.direction === 'from_salesforce') return undefined;
  const writes = `a mapping with direction ${m.direction} writes it`;
  if (!f.createable || !f.updateable)
    return `${name} is not ${f.createable ? 'updateable' : 'createable'} by the integration user, and ${writes}`;
  if (f.type === 'picklist' && f.restrictedPicklist === true)
    return `${name} is a restricted picklist, which refuses values outside its list, and ${writes}: map it from_salesforce, or unrestrict it`;
  return undefined;
}
