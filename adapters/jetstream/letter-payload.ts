// A dead letter's original bytes as an operator reads them: the JSON value when they are JSON
// (every message rtws writes is), else the bytes in base64.
export type LetterPayload =
  { encoding: 'json'; data: unknown } | { encoding: 'base64'; data: string };

export function decodePayload(bytes: Uint8Array): LetterPayload {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { encoding: 'json', data: JSON.parse(text) as unknown };
  } catch {
    return { encoding: 'base64', data: Buffer.from(bytes).toString('base64') };
  }
}
