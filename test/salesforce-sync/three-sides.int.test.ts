// One field edited at once in Postgres (the API), Stripe (the dashboard) and Salesforce (a
// person), within one second: every side converges on the rule's winner (the later change, a tie
// going to Postgres: here Postgres's), and the conflicts recorded show every side's value, all
// three edits among them. RTWS_THREE_SIDES_ROUNDS sets how many rounds are tried (default 3).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testSize } from '../harness/services.ts';
import { eventually } from '../harness/stream.ts';
import { linked, quiet, row, twoWay, type TwoWay } from '../inbound/stack.ts';

const ROUNDS = testSize('RTWS_THREE_SIDES_ROUNDS', 3);

const test = suite<{ s: TwoWay }>('a field edited in Postgres, Stripe and Salesforce at once');

test.before(async (ctx) => {
  ctx.s = await twoWay({ salesforce: true, env: { RTWS_SALESFORCE_POLL_S: '1' } });
});

test.after(async (ctx) => {
  await ctx.s?.close();
});

const accountOf = (s: TwoWay, id: string) =>
  s.sf!.records('Account').find((r) => r.Rtws_Id__c === id);

/** Waits until the next second has just begun, so that edits made now share one second. */
async function startOfSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 20));
}

interface Sides {
  winner: string;
  sides: Record<string, unknown> | null;
}

for (let round = 1; round <= ROUNDS; round++)
  test(`round ${round}: every side ends with Postgres's value, and the conflicts show all three`, async ({
    s,
  }) => {
    const { id } = await s.api.create({
      name: `Three Sides ${round}`,
      email: `three${round}@example.com`,
    });
    const stripeId = await linked(s, id);
    const account = await eventually(
      async () => accountOf(s, id),
      (a) => a !== undefined,
      15_000,
      100,
    );
    await quiet(s);
    const [fromStripe, fromSalesforce, fromPostgres] = [
      `+1 555 1${round}01`,
      `+1 555 1${round}02`,
      `+1 555 1${round}03`,
    ];
    await startOfSecond();
    // The person's edits first, then the API's: ours can never overwrite theirs before they land.
    // Stripe's webhook is held until the API's edit has committed: applied before it, Stripe's
    // edit would be an earlier change rather than one made at once, and conflict with nothing.
    s.emu.pauseWebhooks();
    try {
      await s.stripe.customers.update(stripeId, { phone: fromStripe });
      s.sf!.editAsPerson('Account', String(account!.Id), { Phone: fromSalesforce });
      await s.api.patch(id, { phone: fromPostgres });
    } finally {
      s.emu.resumeWebhooks();
    }
    assert.ok(Date.now() % 1_000 < 900, 'the three edits were made within one second');

    const converged = async () => ({
      postgres: (await row(s, id))?.phone,
      stripe: (await s.stripe.customers.retrieve(stripeId)) as { phone?: string | null },
      salesforce: accountOf(s, id)?.Phone,
    });
    const end = await eventually(
      converged,
      (v) =>
        v.postgres === fromPostgres &&
        v.stripe.phone === fromPostgres &&
        v.salesforce === fromPostgres,
      30_000,
      200,
    );
    assert.is(end.postgres, fromPostgres, 'Postgres');
    assert.is(end.stripe.phone, fromPostgres, 'Stripe');
    assert.is(end.salesforce, fromPostgres, 'Salesforce');
    await quiet(s);
    const after = await converged();
    assert.equal(
      [after.postgres, after.stripe.phone, after.salesforce],
      [fromPostgres, fromPostgres, fromPostgres],
      'and stays so',
    );

    const conflicts = await s.o.sql<Sides[]>`
      SELECT winner, sides FROM conflicts WHERE customer_id = ${id} AND field = 'phone'`;
    assert.ok(conflicts.length > 0, 'recorded');
    for (const c of conflicts) {
      assert.is(c.winner, 'postgres');
      assert.equal(Object.keys(c.sides ?? {}).sort(), ['postgres', 'salesforce', 'stripe']);
    }
    const shown = new Set(conflicts.flatMap((c) => Object.values(c.sides ?? {})));
    for (const value of [fromPostgres, fromStripe, fromSalesforce])
      assert.ok(shown.has(value), `${value} is shown: ${JSON.stringify(conflicts)}`);
  });

test.run();
