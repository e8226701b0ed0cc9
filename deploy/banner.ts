import type { Config } from '../core/config.ts';
import { databaseOf } from '../adapters/postgres/connect.ts';
import type { Rtws } from './rtws.ts';
import type { Sandbox } from './sandbox.ts';
import type { PrivateServer } from './private/private-servers.ts';

/** The startup banner: the one place a generated secret is ever shown. */
export function banner(
  config: Config,
  rtws: Rtws,
  sandbox?: Sandbox,
  servers: readonly PrivateServer[] = [],
): string {
  const lines = [
    '',
    'rtws is running',
    `  roles:       ${config.roles.join(', ')}`,
    `  namespace:   ${config.namespace || '(none)'}`,
  ];
  if (rtws.url) lines.push(`  API:         ${rtws.url}`, `  console:     ${rtws.url}/console/`);
  if (rtws.probeUrl) lines.push(`  probes:      ${rtws.probeUrl}/healthz, /readyz`);
  if (rtws.generatedToken)
    lines.push(`  API token:   ${rtws.apiToken}   (generated; set RTWS_API_TOKEN to choose one)`);
  if (servers.length) lines.push('', ...privateServerLines(servers));
  if (sandbox) {
    const s = sandbox.config;
    lines.push(
      '',
      `  sandbox: no STRIPE_SECRET_KEY, so rtws runs against its built-in emulators (state in ${config.dataDir})`,
      `  database:    ${databaseOf(s.databaseUrl)}`,
      `  Stripe:      ${sandbox.stripe.url}   key ${s.stripe.secretKey ?? ''}`,
    );
    if (rtws.url)
      lines.push(
        `  webhooks:    ${rtws.url}/webhooks/stripe   secret ${s.stripe.webhookSecrets[0] ?? ''}`,
      );
    if (sandbox.salesforce) {
      lines.push(
        `  Salesforce:  ${sandbox.salesforce.loginUrl}   client id ${sandbox.salesforce.clientId}   client secret ${sandbox.salesforce.clientSecret}`,
      );
    }
  }
  lines.push('');
  return lines.join('\n') + '\n';
}

function privateServerLines(servers: readonly PrivateServer[]): string[] {
  const lines = [
    '  private servers: started by rtws, stopped with it, their data kept across restarts',
  ];
  for (const s of servers) {
    const name = s.kind === 'postgres' ? 'Postgres:   ' : 'NATS:       ';
    const data = s.kind === 'postgres' ? 'data' : 'JetStream store';
    lines.push(`  ${name} ${s.url}   (${s.why}; ${data} in ${s.dir})`);
  }
  lines.push(
    '  (RTWS_EMBEDDED=off never starts them; DATABASE_URL and NATS_URL name servers to use)',
  );
  return lines;
}
