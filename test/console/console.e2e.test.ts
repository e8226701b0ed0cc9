// The console in a real headless browser (Debian's chromium through playwright-core), against a
// whole rtws synced to the Stripe and Salesforce emulators: sign-in, a customer found by email
// with its timeline, a dead letter retried, a conflict from a concurrent edit on both sides, a
// token without the scope an action needs, and a customer whose name is markup, which must show
// as text and run nothing. Screenshots of the overview and a customer page go to test/artifacts/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { jetstream } from '@nats-io/jetstream';
import type { Page } from 'playwright-core';
import { encodeRecordedEvent } from '../../actors/customer/outcome-message.ts';
import { jetStreamDeadLetters } from '../../adapters/jetstream/dead-letters.ts';
import { CONSOLE_CSP } from '../../adapters/http/console.ts';
import { authHeaders, TEST_TOKEN } from '../harness/rtws.ts';
import { waitFor } from '../harness/stream.ts';
import { linked, quiet, twoWay, unpushedEdit, type TwoWay } from '../inbound/stack.ts';
import { ARTIFACTS, CHROMIUM, MISSING_BROWSER, openTab, type Tab } from './browser.ts';

const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const MARKUP = '<img src=x onerror=alert(1)>';

const test = suite<{ s: TwoWay; tab: Tab; url: string }>('console in a browser');

test.before(async (ctx) => {
  if (!CHROMIUM) return;
  ctx.s = await twoWay({
    salesforce: true,
    env: { RTWS_API_TOKENS: `viewer:read:${VIEWER_TOKEN}` },
  });
  ctx.url = `${ctx.s.rtws.url}/console/`;
  ctx.tab = await openTab(CHROMIUM);
});
test.after(async (ctx) => {
  await ctx.tab?.browser.close().catch(() => {});
  await ctx.s?.close();
});

async function signIn(page: Page, url: string, token: string) {
  await page.goto(url);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

async function get<T>(s: TwoWay, path: string): Promise<T> {
  const res = await fetch(`${s.rtws.url}${path}`, { headers: authHeaders() });
  assert.is(res.status, 200, path);
  return (await res.json()) as T;
}

async function go(page: Page, hash: string, heading: string | RegExp) {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

const steps: [string, (ctx: { s: TwoWay; tab: Tab; url: string }) => Promise<void>][] = [
  [
    'the console is served with its CSP; the operator signs in and the token stays out of the URL',
    async ({ tab: { page }, url }) => {
      const res = await page.goto(url);
      assert.is(res?.headers()['content-security-policy'], CONSOLE_CSP);
      assert.is(res?.headers()['x-content-type-options'], 'nosniff');
      await signIn(page, url, TEST_TOKEN);
      assert.not.match(page.url(), TEST_TOKEN);
      assert.is(await page.evaluate("sessionStorage.getItem('rtws.token')"), TEST_TOKEN);
      const targets = page.getByRole('table').first();
      await targets.getByRole('rowheader', { name: 'stripe' }).waitFor();
      await targets.getByRole('rowheader', { name: 'salesforce' }).waitFor();
      // Two polls make the first rates.
      await page.locator('svg.spark polyline').first().waitFor({ state: 'attached' });
    },
  ],
  [
    'a customer is found by email; its page shows its targets and its create, Stripe call and Stripe event',
    async ({ s, tab: { page } }) => {
      const { id } = await s.api.create({ name: 'Ada Console', email: 'ada.console@example.com' });
      const stripeId = await linked(s, id);
      await go(page, '#/customers', 'Customers');
      await page.getByLabel('Id, email or name').fill('ada.console@example.com');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: 'Ada Console' }).click();
      await page.getByRole('heading', { level: 1, name: 'Ada Console' }).waitFor();
      await page.getByRole('cell', { name: stripeId }).waitFor();
      const timeline = page.locator('ol.timeline');
      await timeline.locator('.kind-fact', { hasText: 'CustomerCreated' }).waitFor();
      await timeline.locator('.kind-outcome', { hasText: 'StripeCustomerCreated' }).waitFor();
      await timeline.locator('.kind-stripe_event', { hasText: 'customer.created' }).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}console-customer.png`, fullPage: true });
    },
  ],
  [
    'a dead letter is retried and leaves the list, then a selection of two; another is discarded with a reason',
    async ({ s, tab: { page } }) => {
      const { id } = await s.api.create({ name: 'Lettered', email: 'lettered@example.com' });
      await linked(s, id);
      // Retry requests that were given up on: redriven, one asks the actor to retry Stripe again.
      const data = JSON.stringify(
        encodeRecordedEvent(id, { type: 'RetryRequested', data: { target: 'stripe' }, at: 0 }),
      );
      const sink = jetStreamDeadLetters(jetstream(s.o.nats), s.t.names);
      for (const [seq, reason] of [
        [999_998, 'handler failed 5 times'],
        [999_999, 'undecodable after 5 tries'],
        [999_996, 'batch letter one'],
        [999_997, 'batch letter two'],
      ] as const)
        await sink.publish({
          source: 'changes',
          stream: s.t.names.streams.changes,
          streamSeq: seq,
          subject: s.t.names.customerSubject(id),
          reason,
          deliveries: 5,
          data: new TextEncoder().encode(data),
        });
      await go(page, '#/dlq', 'Dead letters');
      const row = page.locator('tr', { hasText: 'handler failed 5 times' });
      const other = page.locator('tr', { hasText: 'undecodable after 5 tries' });
      const letter = await row.getAttribute('data-letter');
      const otherLetter = await other.getAttribute('data-letter');
      await row.getByRole('button', { name: `Show ${letter}` }).click();
      await page.locator('section.letter pre', { hasText: 'RetryRequested' }).waitFor();
      await row.getByRole('button', { name: `Retry ${letter}` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Retried letter ${letter}` })
        .waitFor();
      await row.waitFor({ state: 'detached' });

      for (const text of ['batch letter one', 'batch letter two'])
        await page.locator('tr', { hasText: text }).getByRole('checkbox').check();
      await page.getByRole('button', { name: 'Retry selected (2)' }).click();
      await page
        .getByRole('dialog', { name: 'Retry 2 letters?' })
        .getByRole('button', { name: 'Retry' })
        .click();
      await page.locator('tr', { hasText: 'batch letter' }).first().waitFor({ state: 'detached' });

      await other.getByRole('button', { name: `Discard ${otherLetter}` }).click();
      const dialog = page.getByRole('dialog', { name: `Discard letter ${otherLetter}?` });
      await dialog.getByLabel('Reason').fill('a duplicate of a handled retry');
      await page.screenshot({ path: `${ARTIFACTS}console-dlq.png`, fullPage: true });
      await dialog.getByRole('button', { name: 'Discard' }).click();
      await other.waitFor({ state: 'detached' });

      const left = await get<{ data: { id: number }[] }>(s, '/dlq');
      assert.equal(left.data, [], 'both gone from the API too');
      const [recorded] = await s.o.sql<{ reason: string; discarded_by: string }[]>`
        SELECT reason, discarded_by FROM dlq_discards WHERE letter_id = ${Number(otherLetter)}`;
      assert.equal(recorded, { reason: 'a duplicate of a handled retry', discarded_by: 'default' });
    },
  ],
  [
    'a conflict from a concurrent edit on both sides shows both values, the winner and the reason',
    async ({ s, tab: { page } }) => {
      const { id } = await s.api.create({ name: 'Both Sides', email: 'both.sides@example.com' });
      const stripeId = await linked(s, id);
      await quiet(s, 300);
      await unpushedEdit(s, id, stripeId, { name: 'Both Sides (Postgres)' });
      s.emu.setClockOffset(5_000);
      try {
        await s.stripe.customers.update(stripeId, { name: 'Both Sides (Stripe)' });
        await waitFor(
          async () => (await s.api.sync(id)) as unknown as { conflicts: unknown[] },
          (v) => v.conflicts.length > 0,
          15_000,
        );
      } finally {
        s.emu.setClockOffset(0);
      }
      await go(page, '#/conflicts', 'Conflicts');
      await page.getByLabel('Field').fill('name');
      await page.getByLabel('Field').press('Enter');
      const row = page.locator('table.conflicts tr', { hasText: id });
      await row.waitFor();
      const text = await row.innerText();
      await page.screenshot({ path: `${ARTIFACTS}console-conflicts.png`, fullPage: true });
      for (const shown of ['Both Sides (Postgres)', 'Both Sides (Stripe)', 'stripe', 'later'])
        assert.match(text, shown, `${shown} in ${text}`);
    },
  ],
  [
    'a name that is markup shows as text, and nothing in it runs',
    async ({ s, tab: { page, incidents } }) => {
      const { id } = await s.api.create({ name: MARKUP, email: 'markup@example.com' });
      await go(page, `#/customers/${id}`, MARKUP);
      await page.getByRole('heading', { level: 2, name: 'Timeline' }).waitFor();
      await go(page, '#/customers', 'Customers');
      await page.getByLabel('Id, email or name').fill('markup@example.com');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('link', { name: MARKUP }).waitFor();
      await page.waitForTimeout(500); // the time an injected handler would need to fire
      assert.is(await page.locator('img').count(), 0, 'no element was made from the name');
      assert.equal(incidents, [], 'no dialog, page error or CSP violation');
    },
  ],
  [
    'a target is paused and resumed, each after a confirmation',
    async ({ s, tab: { page } }) => {
      await go(page, '#/overview', 'Overview');
      // The customers the earlier steps made are counted (every few seconds), and drawn in rates.
      const syncedCell = page.locator('tbody tr').first().locator('td.num').first();
      await waitFor(
        () => syncedCell.innerText(),
        (text) => Number(text) > 0,
        15_000,
      );
      await page.screenshot({ path: `${ARTIFACTS}console-overview.png`, fullPage: true });
      const stripe = page
        .getByRole('row')
        .filter({ has: page.getByRole('rowheader', { name: 'stripe' }) });
      await stripe.getByRole('button', { name: 'Pause stripe' }).click();
      const pause = page.getByRole('dialog', { name: 'Pause stripe?' });
      await pause.getByLabel('Reason (recorded)').fill('provider maintenance');
      await pause.getByRole('button', { name: 'Pause' }).click();
      await stripe.getByText('provider maintenance').waitFor();
      await stripe.getByRole('button', { name: 'Resume stripe' }).click();
      await page
        .getByRole('dialog', { name: 'Resume stripe?' })
        .getByRole('button', { name: 'Resume' })
        .click();
      await stripe.getByRole('button', { name: 'Pause stripe' }).waitFor();
      const targets = await get<{ data: { state: string }[] }>(s, '/targets');
      assert.equal(
        targets.data.map((t) => t.state),
        ['on', 'on'],
      );
    },
  ],
  [
    'an import from Stripe is dry-run, and its decisions are shown without a write',
    async ({ s, tab: { page } }) => {
      await go(page, '#/backfills', 'Backfills and reconciliations');
      await page.getByRole('button', { name: 'Dry run' }).click();
      await page.getByRole('heading', { name: /Dry run of stripe: \d+ scanned/ }).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}console-backfills.png`, fullPage: true });
      assert.equal((await get<{ data: unknown[] }>(s, '/backfills')).data, [], 'nothing started');
    },
  ],
  [
    'a token without the operate scope is told the scope it lacks; a refused token signs out',
    async ({ s, tab: { page }, url }) => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn(page, url, VIEWER_TOKEN);
      const { id } = await s.api.create({ name: 'Viewer Target', email: 'viewer@example.com' });
      await go(page, `#/customers/${id}`, 'Viewer Target');
      await page.getByRole('button', { name: 'Resync' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Resync' }).click();
      await page.getByRole('alert').filter({ hasText: 'lacks the operate scope' }).waitFor();
      await page.evaluate("sessionStorage.setItem('rtws.token', 'revoked-token-0123456789')");
      await page.getByLabel('API token').waitFor();
      await page.getByRole('alert').filter({ hasText: 'sign in again' }).waitFor();
      await page.screenshot({ path: `${ARTIFACTS}console-signin.png` });
    },
  ],
];

// uvu does not print the names of skipped tests: the missing browser is named here.
if (!CHROMIUM) console.log(`skipped: the console's browser tests need ${MISSING_BROWSER}`);
for (const [name, step] of steps) {
  if (CHROMIUM) test(name, step);
  else test.skip(`${name} (needs ${MISSING_BROWSER})`, step);
}

test.run();
