import { createHmac } from 'node:crypto';
import jsforce from 'jsforce';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { startSalesforceEmulator } from '../../adapters/emulators/salesforce/index.ts';
import { clientCredentialsConnection, rejection } from './connect.ts';

let emulator: SalesforceEmulator;

test.before(async () => {
  emulator = await startSalesforceEmulator({
    clientId: 'test-client',
    clientSecret: 'test-secret',
    username: 'sync@example.com',
    password: 'pw-1',
  });
});

test.after(async () => {
  await emulator?.close();
});

const oauth2 = () => ({
  loginUrl: emulator.loginUrl,
  clientId: emulator.clientId,
  clientSecret: emulator.clientSecret,
});

async function token(
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${emulator.loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

test('client credentials: authorize() establishes a session on the emulator', async () => {
  const conn = new jsforce.Connection({ oauth2: oauth2() });
  const info = await conn.authorize({ grant_type: 'client_credentials' });
  assert.is(conn.instanceUrl, emulator.loginUrl);
  assert.is(info.organizationId, emulator.orgId);
  assert.is(info.id, emulator.userId);
  assert.ok(conn.accessToken);
  assert.is(conn.refreshToken ?? undefined, undefined, 'client credentials issue no refresh token');
  const identity = await conn.identity();
  assert.is(identity.username, 'sync@example.com');
});

test('the token response carries every field, and a signature over id + issued_at', async () => {
  const { status, body } = await token({
    grant_type: 'client_credentials',
    client_id: 'test-client',
    client_secret: 'test-secret',
  });
  assert.is(status, 200);
  assert.is(body.token_type, 'Bearer');
  assert.is(body.instance_url, emulator.loginUrl);
  assert.is(body.id, `${emulator.loginUrl}/id/${emulator.orgId}/${emulator.userId}`);
  assert.match(body.issued_at!, /^\d{13}$/);
  const expected = createHmac('sha256', 'test-secret')
    .update(body.id! + body.issued_at!)
    .digest('base64');
  assert.is(body.signature, expected);
});

test('password grant through conn.login with an OAuth client, and a refresh token', async () => {
  const conn = new jsforce.Connection({ oauth2: oauth2() });
  const info = await conn.login('sync@example.com', 'pw-1');
  assert.is(info.organizationId, emulator.orgId);
  const { body } = await token({
    grant_type: 'password',
    client_id: 'test-client',
    client_secret: 'test-secret',
    username: 'sync@example.com',
    password: 'pw-1',
  });
  assert.ok(body.refresh_token, 'the password flow issues a refresh token');
});

test('refresh_token: a connection holding a refresh token recovers from expiry on its own', async () => {
  const { body } = await token({
    grant_type: 'password',
    client_id: 'test-client',
    client_secret: 'test-secret',
    username: 'sync@example.com',
    password: 'pw-1',
  });
  const conn = new jsforce.Connection({
    oauth2: oauth2(),
    instanceUrl: body.instance_url,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
  });
  let refreshed = 0;
  conn.on('refresh', () => refreshed++);
  await conn.sobject('Account').create({ Name: 'Before expiry' });
  emulator.expireTokens();
  const created = await conn.sobject('Account').create({ Name: 'After expiry' });
  assert.ok(created.success);
  assert.is(refreshed, 1);
  assert.is.not(conn.accessToken, body.access_token);
});

test('client credentials: after expireTokens() the refreshFn re-runs the grant and replays the call', async () => {
  const conn = await clientCredentialsConnection(emulator);
  const { id } = await conn.sobject('Account').create({ Name: 'Replay' });
  const oldToken = conn.accessToken;
  emulator.expireTokens();
  const record = await conn.sobject('Account').retrieve(id!);
  assert.is(record.Name, 'Replay');
  assert.is.not(conn.accessToken, oldToken);
});

test('an expired or unknown token gets 401 INVALID_SESSION_ID', async () => {
  const conn = new jsforce.Connection({
    instanceUrl: emulator.loginUrl,
    accessToken: 'not-a-token',
  });
  const err = await rejection(conn.sobject('Account').create({ Name: 'x' }));
  assert.is(err.errorCode, 'INVALID_SESSION_ID');
  const res = await fetch(`${emulator.loginUrl}/services/data/v50.0/sobjects`, {
    headers: { Authorization: 'Bearer nope' },
  });
  assert.is(res.status, 401);
  assert.equal(await res.json(), [
    { message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' },
  ]);
});

test('bad credentials: a wrong secret is invalid_client, a wrong password invalid_grant', async () => {
  const badSecret = new jsforce.Connection({ oauth2: { ...oauth2(), clientSecret: 'wrong' } });
  const secretErr = await rejection(badSecret.authorize({ grant_type: 'client_credentials' }));
  assert.is(secretErr.name, 'invalid_client');
  const badPassword = new jsforce.Connection({ oauth2: oauth2() });
  const passwordErr = await rejection(badPassword.login('sync@example.com', 'wrong'));
  assert.is(passwordErr.name, 'invalid_grant');
  assert.is(passwordErr.message, 'authentication failure');
});

test('bad credentials: unknown grant types, refresh tokens and client ids are refused with 400', async () => {
  const grant = await token({ grant_type: 'authorization_code', client_id: 'test-client' });
  assert.is(grant.status, 400);
  assert.is(grant.body.error, 'unsupported_grant_type');
  const refresh = await token({
    grant_type: 'refresh_token',
    client_id: 'test-client',
    refresh_token: 'made-up',
  });
  assert.is(refresh.status, 400);
  assert.is(refresh.body.error, 'invalid_grant');
  const client = await token({
    grant_type: 'client_credentials',
    client_id: 'other',
    client_secret: 'test-secret',
  });
  assert.is(client.status, 400);
  assert.is(client.body.error, 'invalid_client_id');
  assert.type(client.body.error_description, 'string');
});

test('SOAP login: conn.login without an OAuth client gets a session, and re-logs in after expiry', async () => {
  const conn = new jsforce.Connection({ loginUrl: emulator.loginUrl });
  const info = await conn.login('sync@example.com', 'pw-1');
  assert.is(info.organizationId, emulator.orgId);
  assert.is(conn.instanceUrl, emulator.loginUrl);
  await conn.sobject('Account').create({ Name: 'Via SOAP' });
  emulator.expireTokens();
  assert.ok((await conn.sobject('Account').create({ Name: 'Via SOAP again' })).success);
  const bad = new jsforce.Connection({ loginUrl: emulator.loginUrl });
  const err = await rejection(bad.login('sync@example.com', 'wrong'));
  assert.match(err.message, /INVALID_LOGIN/);
});

test('a revoked refresh token no longer refreshes', async () => {
  const { body } = await token({
    grant_type: 'password',
    client_id: 'test-client',
    client_secret: 'test-secret',
    username: 'sync@example.com',
    password: 'pw-1',
  });
  const revoke = await fetch(`${emulator.loginUrl}/services/oauth2/revoke`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(body.refresh_token!)}`,
  });
  assert.is(revoke.status, 200);
  const refresh = await token({
    grant_type: 'refresh_token',
    client_id: 'test-client',
    refresh_token: body.refresh_token!,
  });
  assert.is(refresh.body.error, 'invalid_grant');
});

test('tokens expire after tokenTtlMs', async () => {
  const short = await startSalesforceEmulator({ tokenTtlMs: 100 });
  try {
    const conn = new jsforce.Connection({
      oauth2: {
        loginUrl: short.loginUrl,
        clientId: short.clientId,
        clientSecret: short.clientSecret,
      },
    });
    await conn.authorize({ grant_type: 'client_credentials' });
    const plain = new jsforce.Connection({
      instanceUrl: short.loginUrl,
      accessToken: conn.accessToken!,
    });
    assert.ok((await plain.sobject('Account').create({ Name: 'In time' })).success);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const err = await rejection(plain.sobject('Account').create({ Name: 'Too late' }));
    assert.is(err.errorCode, 'INVALID_SESSION_ID');
  } finally {
    await short.close();
  }
});

test.run();
