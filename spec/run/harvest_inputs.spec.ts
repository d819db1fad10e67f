// A harvest folder is continued only from the files it was made from (issue 17 item 9), and a folder of
// shards without a manifest is not continued at all (item 6).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkHarvestInputs, INPUTS_FILE, modelFiles } from '../../src/run/harvest_inputs.js';

const s = suite('run: harvest inputs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'batchtopk-hin-'));
s.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function setup(name: string) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
  const text = path.join(dir, 'in', 'docs.txt');
  const model = path.join(dir, 'in', 'model.bin');
  fs.writeFileSync(text, 'one story.\n\nanother story.\n');
  fs.writeFileSync(model, Buffer.alloc(4096, 7));
  return { dir, out: path.join(dir, 'out'), text, model };
}

s('a new folder records its inputs; the same files continue, spelled another way too', () => {
  const t = setup('same');
  checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] });
  assert.ok(fs.existsSync(path.join(t.out, INPUTS_FILE)));
  fs.writeFileSync(path.join(t.out, 'manifest.json'), '{}');
  const spelled = path.join(t.dir, 'in', '..', 'in', 'docs.txt');
  checkHarvestInputs(t.out, { '--text': [spelled], '--model': [t.model] });
});

s('a text file replaced between runs is refused, naming the flag and the file', () => {
  const t = setup('changed');
  checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] });
  fs.writeFileSync(path.join(t.out, 'manifest.json'), '{}');
  // Same size, other bytes: only the content hash can tell.
  fs.writeFileSync(t.text, 'two story..\n\nanother story.\n'.slice(0, fs.statSync(t.text).size));
  assert.throws(() => checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] }), (e: Error) => /--text/.test(e.message) && e.message.includes('docs.txt') && /another --out/.test(e.message));
});

s('a changed model file is refused', () => {
  const t = setup('model');
  checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] });
  fs.writeFileSync(path.join(t.out, 'manifest.json'), '{}');
  fs.writeFileSync(t.model, Buffer.alloc(4096, 8));
  assert.throws(() => checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] }), /--model/);
});

s('shards without a manifest are not continued', () => {
  const t = setup('orphan');
  fs.mkdirSync(t.out, { recursive: true });
  fs.writeFileSync(path.join(t.out, 'acts_00000.npy'), 'x');
  assert.throws(() => checkHarvestInputs(t.out, { '--text': [t.text], '--model': [t.model] }), /no manifest\.json.*empty --out/);
});

s('a model folder stands for its weights, config and tokenizer files', () => {
  const dir = path.join(tmp, 'hf');
  fs.mkdirSync(dir);
  for (const n of ['config.json', 'model.safetensors', 'tokenizer.json', 'README.md']) fs.writeFileSync(path.join(dir, n), n);
  assert.equal(modelFiles(dir).map((f) => path.basename(f)), ['config.json', 'model.safetensors', 'tokenizer.json']);
});

s.run();
