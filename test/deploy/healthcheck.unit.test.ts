// The container health check asks the address the process's own settings name, or the URL given.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { healthUrl } from '../../deploy/healthcheck.ts';

test('the health check asks loopback when the server listens everywhere, else its host', () => {
  assert.is(
    healthUrl('/readyz', { HOST: '0.0.0.0', PORT: '8080' }),
    'http://127.0.0.1:8080/readyz',
  );
  assert.is(healthUrl('/healthz', { HOST: '::', PORT: '9000' }), 'http://127.0.0.1:9000/healthz');
  assert.is(healthUrl('/readyz', { HOST: '10.0.0.7' }), 'http://10.0.0.7:8080/readyz');
  assert.is(healthUrl('/readyz', { HOST: '::1', PORT: '81' }), 'http://[::1]:81/readyz');
  const emulator = 'http://127.0.0.1:12111/_emulator/health';
  assert.is(healthUrl(emulator, {}), emulator);
});

test.run();
