// The emulator's request log read as a poller reads it: only what came after the last request seen,
// and a gap when that request has left the ring.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RequestLog, type RequestRecord } from '../../adapters/emulators/stripe/request-log.ts';

const record = (n: number, method = 'POST', path = '/v1/customers'): RequestRecord => ({
  requestId: `req_${n}`,
  method,
  path,
  status: 200,
  idempotencyKey: null,
  replayed: false,
  fault: false,
  at: n,
});

const ids = (rs: RequestRecord[]) => rs.map((r) => r.requestId);

test('after a request still in the log: only the later ones, no gap', () => {
  const log = new RequestLog(10);
  for (let n = 1; n <= 4; n++) log.add(record(n));
  assert.equal(log.after('req_2'), { data: [record(3), record(4)], gap: false });
  assert.equal(log.after('req_4'), { data: [], gap: false });
});

test('the filter applies to what follows, not to the request named', () => {
  const log = new RequestLog(10);
  log.add(record(1, 'GET', '/v1/account'));
  log.add(record(2, 'POST', '/v1/customers'));
  log.add(record(3, 'GET', '/v1/customers'));
  log.add(record(4, 'POST', '/v1/customers/cus_1'));
  assert.equal(ids(log.after('req_1', { method: 'post', path: '/v1/customers' }).data), [
    'req_2',
    'req_4',
  ]);
  // A poller that filters names the last request it saw, which matched its filter.
  assert.equal(ids(log.after('req_2', { method: 'POST' }).data), ['req_4']);
});

test('a request that left the ring, or a cleared log, is a gap: the whole log comes back', () => {
  const log = new RequestLog(3);
  for (let n = 1; n <= 5; n++) log.add(record(n));
  assert.equal(log.after('req_1'), { data: [record(3), record(4), record(5)], gap: true });
  assert.equal(log.after('req_3'), { data: [record(4), record(5)], gap: false });
  log.clear();
  log.add(record(6));
  assert.equal(log.after('req_5'), { data: [record(6)], gap: true });
});

test.run();
