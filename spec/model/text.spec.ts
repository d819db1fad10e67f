// Issue 17 item 14: the text a harvest or CE evaluation reads. Invalid UTF-8 is refused by default, naming the
// file, the count and the first line, and the --encoding that gets past it; utf8-replace replaces with a
// warning that gives the count; latin1 reads bytes as characters. A U+FFFD written in the file as valid
// UTF-8 is text like any other and counts as nothing invalid.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readDocuments } from '../../src/model/text.js';

const s = suite('model: reading text files (encodings)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-text-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const u = (t: string) => Buffer.from(t, 'utf8');
// Line 1-2: a valid document holding a real U+FFFD; line 4: a lone 0xFF and a truncated 3-byte sequence
// (E2 82 then 'x'): two invalid sequences, each one U+FFFD for a decoder that replaces.
const BYTES = Buffer.concat([u('First doc \ufffd ok.\nstill first\n\n'), u('Second '), Buffer.from([0xff]), u(' and '), Buffer.from([0xe2, 0x82]), u('x end.\n')]);

s('invalid UTF-8: refused by default with the count, the first line and the way out', () => {
  const file = path.join(tmp, 'bad.txt');
  fs.writeFileSync(file, BYTES);
  assert.throws(
    () => readDocuments(file),
    (e: Error) => e.message.startsWith(`${file}: 2 invalid UTF-8 byte sequences (the first on line 4)`) && e.message.includes('--encoding utf8-replace') && e.message.includes('--encoding latin1'),
  );
  const jsonl = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(jsonl, Buffer.concat([u('{"text": "fine \ufffd"}\n{"text": "bad '), Buffer.from([0xc3]), u('"}\n')]));
  assert.throws(() => readDocuments(jsonl), (e: Error) => e.message.startsWith(`${jsonl}: 1 invalid UTF-8 byte sequence (the first on line 2)`));
});

s('--encoding utf8-replace: U+FFFD in their place and one warning with the count; latin1: a character per byte', () => {
  const file = path.join(tmp, 'bad.txt');
  fs.writeFileSync(file, BYTES);
  const warnings: string[] = [];
  const docs = readDocuments(file, { encoding: 'utf8-replace', warn: (l) => warnings.push(l) });
  assert.equal(docs, ['First doc \ufffd ok.\nstill first', 'Second \ufffd and \ufffdx end.']);
  assert.equal(warnings, [`warning: ${file}: 2 invalid UTF-8 byte sequences replaced by U+FFFD (the first on line 4)`]);
  const latin = readDocuments(file, { encoding: 'latin1', warn: (l) => warnings.push(l) });
  assert.is(latin[1], 'Second \xff and \xe2\x82x end.');
  assert.is(warnings.length, 1);
  assert.throws(() => readDocuments(file, { encoding: 'utf16' as never }), /--encoding utf16: expected one of utf8, utf8-replace, latin1/);
});

s('valid UTF-8 (a U+FFFD of its own included) reads with no error and no warning', () => {
  const file = path.join(tmp, 'good.txt');
  fs.writeFileSync(file, u('A \ufffd B\n\nC 😀 é\n'));
  const warnings: string[] = [];
  assert.equal(readDocuments(file, { warn: (l) => warnings.push(l) }), ['A \ufffd B', 'C 😀 é']);
  assert.equal(readDocuments(file, { encoding: 'utf8-replace', warn: (l) => warnings.push(l) }), ['A \ufffd B', 'C 😀 é']);
  assert.equal(warnings, []);
});

s.run();
