import type { Config } from '../core/config.ts';
import type { Rtws } from './rtws.ts';

/** The startup banner: the one place a generated secret is ever shown. */
export function banner(config: Config, rtws: Rtws): string {
  const lines = [
    '',
    'rtws is running',
    `  roles:      ${config.roles.join(', ')}`,
    `  namespace:  ${config.namespace || '(none)'}`,
  ];
  if (rtws.url) lines.push(`  API:        ${rtws.url}`);
  if (rtws.generatedToken) lines.push(`  API token:  ${rtws.apiToken}   (generated; set RTWS_API_TOKEN to choose one)`);
  lines.push('');
  return lines.join('\n') + '\n';
}
