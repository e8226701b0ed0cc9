// An independent rendering of the documented id-suffix algorithm, to check the emulator against:
// per 5-character chunk, read the uppercase flags right to left as a binary number and index into
// A-Z then 0-5.
export function referenceChecksum(id15: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';
  return [0, 5, 10]
    .map((start) => {
      const flags = id15
        .slice(start, start + 5)
        .split('')
        .reverse()
        .map((c) => (/[A-Z]/.test(c) ? '1' : '0'))
        .join('');
      return alphabet[parseInt(flags, 2)];
    })
    .join('');
}
