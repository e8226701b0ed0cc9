import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalId, idChecksum } from '../../adapters/emulators/salesforce/index.ts';
import { referenceChecksum } from './reference-checksum.ts';

test('known ids get their documented suffixes', () => {
  assert.is(idChecksum('001A0000006Vm9r'), 'IAC');
  assert.is(idChecksum('00000000000000A'), 'AAQ');
  assert.is(idChecksum('003AAAAAAAAAAAA'), 'Y55');
  assert.is(idChecksum('00Dxx0000000000'), 'EAA');
});

test('the suffix matches an independent computation', () => {
  for (const id of ['001Hs00003bWGgl', '003Hs0000ZzZzZz', '00DHs000WN42Etu', '005ABCDEabcde12']) {
    assert.is(idChecksum(id), referenceChecksum(id), id);
  }
});

test('canonicalId extends 15-character ids and restores the case of 18-character ones', () => {
  assert.is(canonicalId('001A0000006Vm9r'), '001A0000006Vm9rIAC');
  assert.is(canonicalId('001a0000006vm9riac'), '001A0000006Vm9rIAC');
  assert.is(canonicalId('001A0000006Vm9rIAC'), '001A0000006Vm9rIAC');
  assert.is(canonicalId('001A0000006Vm9'), undefined);
  assert.is(canonicalId('001A0000006Vm9r-AC'), undefined);
});

test.run();
