// What the import of a record created in Salesforce without our external id decided, once per
// record (RTWS_SALESFORCE_IMPORT_NEW): matched by email with the one catalogue customer that no
// Salesforce record is linked to, or inserted as a Salesforce-born customer.
import { v5 as uuidv5 } from 'uuid';
import type { Sql } from './connect.ts';

/** The namespace of Salesforce-born customers' ids (a version 5 UUID of the record id). */
const SALESFORCE_BORN_NAMESPACE = 'b3f8a1d2-6c4e-5f70-9a1b-2c3d4e5f6a7b';

/** The id of a Salesforce-born customer: the same whichever read finds its record first. */
export function salesforceBornId(recordId: string): string {
  return uuidv5(`salesforce-record:${recordId}`, SALESFORCE_BORN_NAMESPACE);
}

export type SalesforceImportDecision =
  'insert' | 'match' | 'ambiguous' | 'email_in_catalogue' | 'duplicate';

export const SALESFORCE_IMPORT_REASONS: Record<SalesforceImportDecision, string> = {
  insert: 'nothing in the catalogue is this record: inserted as a Salesforce-born customer',
  match: 'the one catalogue customer with this email and no Salesforce record: linked to it',
  ambiguous:
    'several catalogue customers without a Salesforce record share this email: nothing imported',
  email_in_catalogue:
    'a catalogue customer has this email but cannot be matched (matching off, or it is linked): nothing imported',
  duplicate: 'its customer got another Salesforce record meanwhile: nothing imported',
};

export interface SalesforceImport {
  readonly decision: SalesforceImportDecision;
  readonly customerId: string | null;
  /** False when an earlier read decided it. */
  readonly decidedNow: boolean;
}

/**
 * The record's decision: the one recorded, or one made now from the catalogue and recorded. A
 * match claims the customer's Salesforce link in the same transaction, so that a create of ours
 * landing meanwhile, or another record of the same email, cannot take it too.
 */
export async function decideImport(
  sql: Sql,
  o: { recordId: string; org: string; email: string | null; matchBy: 'email' | 'none' },
): Promise<SalesforceImport> {
  return sql.begin(async (tx) => {
    const [known] = await tx<{ decision: SalesforceImportDecision; customer_id: string | null }[]>`
      SELECT decision, customer_id FROM salesforce_imports WHERE record_id = ${o.recordId}`;
    if (known)
      return { decision: known.decision, customerId: known.customer_id, decidedNow: false };
    const email = o.email?.trim().toLowerCase() || null;
    let decision: SalesforceImportDecision = 'insert';
    let customerId: string | null = salesforceBornId(o.recordId);
    if (email) {
      const rows = await tx<{ id: string; linked: boolean }[]>`
        SELECT c.id,
               EXISTS (SELECT 1 FROM customer_links l WHERE l.customer_id = c.id AND l.target = 'salesforce')
            OR EXISTS (SELECT 1 FROM salesforce_imports i WHERE i.customer_id = c.id) AS linked
        FROM customers c
        WHERE lower(c.email) = ${email} AND c.deleted_at IS NULL
        ORDER BY c.id
        FOR UPDATE OF c`;
      const free = rows.filter((r) => !r.linked);
      if (o.matchBy === 'email' && free.length === 1)
        [decision, customerId] = ['match', free[0]!.id];
      else if (o.matchBy === 'email' && free.length > 1)
        [decision, customerId] = ['ambiguous', null];
      else if (rows.length > 0) [decision, customerId] = ['email_in_catalogue', null];
    }
    await tx`
      INSERT INTO salesforce_imports (record_id, org_id, decision, customer_id)
      VALUES (${o.recordId}, ${o.org}, ${decision}, ${customerId})`;
    if (decision === 'match')
      await tx`
        INSERT INTO customer_links (customer_id, target, external_id)
        VALUES (${customerId}, 'salesforce', ${o.recordId})`;
    return { decision, customerId, decidedNow: true };
  });
}

/** The record could not be given our id: its customer has another record now. */
export async function markImportDuplicate(sql: Sql, recordId: string): Promise<void> {
  await sql`
    UPDATE salesforce_imports SET decision = 'duplicate', customer_id = NULL
    WHERE record_id = ${recordId}`;
}
