// A rebind cut off after its commit (the binding moved, the actors not reset yet) leaves rtws
// refusing to start, naming the command that finishes it; run again, the rebind finishes, and
// rtws starts against the new account.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startStripeEmulator, type StripeEmulator } from '../../adapters/emulators/stripe/index.ts';
import { connectPostgres } from '../../adapters/postgres/connect.ts';
import { rebindTarget } from '../../adapters/postgres/rebind.ts';
import { RebindUnfinishedError } from '../../core/errors.ts';
import { rebind } from '../../deploy/cli/rebind.ts';
import { startTestRtws, testEnvironment, type TestEnvironment } from '../harness/rtws.ts';

const ACCOUNT_A = 'acct_UnfinishedAaaaaaa';
const ACCOUNT_B = 'acct_UnfinishedBbbbbbb';

const test = suite<{ t?: TestEnvironment; a?: StripeEmulator; b?: StripeEmulator }>(
  'an unfinished rebind',
);

test.before(async (ctx) => {
  ctx.t = await testEnvironment();
  ctx.a = await startStripeEmulator({ port: 0, accountId: ACCOUNT_A, searchLagMs: 0 });
  ctx.b = await startStripeEmulator({ port: 0, accountId: ACCOUNT_B, searchLagMs: 0 });
});
test.after(async (ctx) => {
  await ctx.a?.close();
  await ctx.b?.close();
  await ctx.t?.cleanup();
});

const withKeyOf = (e: StripeEmulator) => ({
  RTWS_ROLES: 'api',
  STRIPE_SECRET_KEY: 'sk_test_unfinished',
  STRIPE_API_BASE: e.url,
  STRIPE_WEBHOOK_SECRET: 'whsec_unfinished',
});

test('refuses to start until the rebind runs again', async (ctx) => {
  const t = ctx.t!;
  await (await startTestRtws(t, withKeyOf(ctx.a!))).close();
  // The rebind's transaction commits, and it is cut off before the actors are reset.
  const sql = connectPostgres(t.db.url);
  try {
    await rebindTarget(sql, 'stripe', { accountId: ACCOUNT_B, livemode: false });
  } finally {
    await sql.end();
  }
  const refused = await startTestRtws(t, withKeyOf(ctx.b!)).then(
    async (r) => void (await r.close()),
    (err: unknown) => err,
  );
  assert.instance(refused, RebindUnfinishedError);
  assert.match(String((refused as Error).message), `rebind stripe --confirm ${ACCOUNT_B}`);

  assert.is(await rebind(t.config(withKeyOf(ctx.b!)), 'stripe', ACCOUNT_B, false), 0);
  const running = await startTestRtws(t, withKeyOf(ctx.b!));
  await running.close();
  // Done: a rebind to the account in force would only archive its links; it changes nothing.
  const again = await rebind(t.config(withKeyOf(ctx.b!)), 'stripe', ACCOUNT_B, false).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.match(String((again as Error).message), `bound to ${ACCOUNT_B} already`);
});

test.run();
