import type { Config } from '../core/config.ts';
import type { Rtws } from './rtws.ts';
import type { Sandbox } from './sandbox.ts';

/** The startup banner: the one place a generated secret is ever shown. */
export function banner(config: Config, rtws: Rtws, sandbox?: Sandbox): string {
  const lines = [
    '',
    'rtws is running',
    `  roles:       ${config.roles.join(', ')}`,
    `  namespace:   ${config.namespace || '(none)'}`,
  ];
  if (rtws.url) lines.push(`  API:         ${rtws.url}`);
  if (rtws.generatedToken)
    lines.push(`  API token:   ${rtws.apiToken}   (generated; set RTWS_API_TOKEN to choose one)`);
  if (sandbox) {
    const s = sandbox.config;
    lines.push(
      '',
      `  sandbox: no STRIPE_SECRET_KEY, so rtws runs against its built-in emulators (state in ${config.dataDir})`,
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
