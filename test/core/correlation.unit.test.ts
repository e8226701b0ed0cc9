// A client's X-Request-Id becomes a correlation id only when it is a plain token: it is written to
// logs, stream headers and the database.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSaneCorrelationId } from '../../core/correlation.ts';

test('plain tokens are taken', () => {
  for (const id of [
    'req-1',
    '4f1c2b7e-0d3a-4e1b-9c2d-1a2b3c4d5e6f',
    'evt_1Nq2x3',
    'salesforce:001xx:2026-12-04T08:00:00.000+0000',
    'a'.repeat(128),
  ])
    assert.ok(isSaneCorrelationId(id), id);
});

test('anything else is not', () => {
  for (const id of [
    '',
    'two words',
    'line\nbreak',
    '"quoted"',
    '-leading-dash',
    'a'.repeat(129),
    '<script>',
    undefined,
    ['a', 'b'],
  ])
    assert.not.ok(isSaneCorrelationId(id), JSON.stringify(id));
});

test.run();
