/** Salesforce's REST datetime form: milliseconds and a `+0000` offset without a colon. */
export function formatDatetime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}
