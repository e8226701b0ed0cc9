import { invalidRequest } from './errors.ts';

/** A decoded form value: Stripe's bracket syntax nests objects; arrays arrive as index-keyed objects. */
export type FormValue = string | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

export function emptyForm(): FormObject {
  // No prototype: a key such as `__proto__` must stay an ordinary key.
  return Object.create(null) as FormObject;
}

function decode(part: string): string {
  // Most keys and values need no decoding; skipping the regex and the decoder is measurable.
  if (!part.includes('%') && !part.includes('+')) return part;
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw invalidRequest(`Invalid URL encoding: ${part}`);
  }
}

/** Splits `a[b][0]` into `['a', 'b', '0']`; `[]` becomes the empty segment (append). */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open === -1) return [key];
  const path = [key.slice(0, open)];
  let i = open;
  while (i < key.length) {
    const close = key.indexOf(']', i);
    if (key[i] !== '[' || close === -1) throw invalidKey(key);
    const segment = key.slice(i + 1, close);
    if (segment.includes('[')) throw invalidKey(key);
    path.push(segment);
    i = close + 1;
  }
  return path;
}

function invalidKey(key: string) {
  return invalidRequest(
    `Invalid parameter name: ${key}. Keys may not contain square brackets.`,
    key,
    'parameter_invalid_string',
  );
}

function assign(target: FormObject, path: string[], value: string): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i] === '' ? String(Object.keys(node).length) : path[i]!;
    const next = node[segment];
    if (typeof next === 'object') node = next;
    else {
      const child = emptyForm();
      node[segment] = child;
      node = child;
    }
  }
  const last = path[path.length - 1]!;
  node[last === '' ? String(Object.keys(node).length) : last] = value;
}

/** Decodes an `application/x-www-form-urlencoded` string the way Stripe's API reads it. */
export function parseForm(text: string): FormObject {
  const out = emptyForm();
  if (text === '') return out;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    assign(out, keyPath(key), value);
  }
  return out;
}
