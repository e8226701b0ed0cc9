// rtws with SALESFORCE_OBJECT=Contact and the Contact example map (plus a note kept in
// Salesforce, mapped from_salesforce): a customer created and changed through the API reaches a
// Contact with FirstName/LastName, Email and the Mailing address, never an Account; a change to
// the note costs no call and leaves the target synced.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventually } from '../harness/stream.ts';
import type { CustomerBody, SyncState } from './api.ts';
import { startWorld, type World } from './world.ts';

const test = suite<{ w?: World; dir?: string }>('Salesforce sync: a Contact field map');

test.after(async (ctx) => {
  await ctx.w?.close();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

const EXAMPLE = new URL('../../deploy/salesforce/contact-field-map.json', import.meta.url);

/** The example, with the Contact's Description as a note only Salesforce changes. */
function contactMap(dir: string): string {
  const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as { fields: object };
  const path = join(dir, 'contact-field-map.json');
  const Description = { canonical: 'metadata.notes', direction: 'from_salesforce' };
  writeFileSync(path, JSON.stringify({ ...example, fields: { ...example.fields, Description } }));
  return path;
}

const contactOf = (w: World, id: string) =>
  w.sf.records('Contact').find((r) => r.Rtws_Id__c === id);

/** The customer's Salesforce target once it is synced at `version`. */
/**
 * Waits until Salesforce holds the customer's latest version, the API write `writes` made
 * included. Versions are counted from the catalogue, not assumed: the first read of the Contact
 * brings its `from_salesforce` note (empty) into the catalogue, a write of its own, whenever
 * that read comes.
 */
async function syncedAt(w: World, id: string, writes: number): Promise<SyncState> {
  const state = await eventually(
    async () => {
      const [row] = await w.rtws.sql<{ version: string }[]>`
        SELECT version FROM customers WHERE id = ${id}`;
      return { s: await w.api.sync(id), version: Number(row?.version ?? 0) };
    },
    ({ s, version }) =>
      version >= writes &&
      s.targets?.salesforce?.status === 'synced' &&
      s.targets.salesforce.synced_version === version,
    15_000,
    100,
  ).then((r) => r.s);
  assert.is(state.targets?.salesforce?.status, 'synced', JSON.stringify(state.targets));
  return state;
}

test('a customer reaches a Contact through the map, and follows its changes', async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'rtws-contact-'));
  const w = (ctx.w = await startWorld({
    SALESFORCE_OBJECT: 'Contact',
    SALESFORCE_FIELD_MAP: contactMap(ctx.dir),
  }));
  const body: CustomerBody = {
    name: 'Mary Ann Smith',
    email: 'Mary.Smith@Example.com',
    phone: '+1 555 0100',
    address: {
      line1: '1 Main St',
      line2: 'Apt 2',
      city: 'Springfield',
      state: 'IL',
      postal_code: '62701',
      country: 'us',
    },
    metadata: { notes: 'from the catalogue', plan: 'gold' },
  };
  const id = await w.api.create(body);
  await syncedAt(w, id, 1);
  const created = contactOf(w, id);
  assert.ok(created, 'a Contact carries the customer id');
  assert.equal(
    {
      FirstName: created.FirstName,
      LastName: created.LastName,
      Email: created.Email,
      Phone: created.Phone,
      MailingStreet: created.MailingStreet,
      MailingCity: created.MailingCity,
      MailingState: created.MailingState,
      MailingPostalCode: created.MailingPostalCode,
      MailingCountry: created.MailingCountry,
      Description: created.Description,
    },
    {
      FirstName: 'Mary Ann',
      LastName: 'Smith',
      Email: 'mary.smith@example.com',
      Phone: '+1 555 0100',
      MailingStreet: '1 Main St\nApt 2',
      MailingCity: 'Springfield',
      MailingState: 'IL',
      MailingPostalCode: '62701',
      MailingCountry: 'US',
      Description: null,
    },
  );
  assert.is(w.sf.records('Account').length, 0, 'no Account is written');

  // One word is all last name; the first name it no longer has is cleared.
  await w.api.patch(id, { name: 'Cher' });
  await syncedAt(w, id, 2);
  assert.equal([contactOf(w, id)?.FirstName, contactOf(w, id)?.LastName], [null, 'Cher']);
  await w.api.patch(id, { name: 'Jean  Paul Sartre', address: null });
  await syncedAt(w, id, 3);
  const renamed = contactOf(w, id);
  assert.equal([renamed?.FirstName, renamed?.LastName], ['Jean  Paul', 'Sartre']);
  assert.is(renamed?.MailingStreet, null, 'a removed address clears the Mailing fields');
  assert.is(renamed?.MailingCountry, null);

  // The note flows only from Salesforce: a catalogue change to it is never sent.
  // Reads of Salesforce's changes go on meanwhile: only writes count here.
  const writes = () =>
    Object.entries(w.sf.stats().callsByEndpoint)
      .filter(([endpoint]) =>
        /^(sobject|collections)\.(create|update|upsert|delete)$/.test(endpoint),
      )
      .reduce((n, [, calls]) => n + calls, 0);
  const calls = writes();
  await w.api.patch(id, { metadata: { notes: 'changed in the catalogue', plan: 'gold' } });
  const after = await syncedAt(w, id, 4);
  assert.equal(after.targets?.salesforce?.pending, [], 'nothing left to push');
  assert.is(writes(), calls, 'nothing was written');
  assert.is(contactOf(w, id)?.Description, null);
  assert.is(w.sf.records('Contact').length, 1, 'one Contact, updated in place');
});

test.run();
