/**
 * Issue 17, defect 4: the output-path checks every writing command makes before its work, and
 * file-system errors told as the environment's problem (never "internal error").
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrototokenError, systemErrorAsUserError } from '../../src/util/errors.js';
import { checkOutputFile, checkOutputFolder } from '../../src/util/output_paths.js';
import { tempDir } from '../cli/run.js';

describe('output paths', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  const p = (f: string): string => join(dir, f);
  before(async () => {
    ({ dir, cleanup } = await tempDir('prototoken-paths-'));
    await writeFile(p('file.txt'), 'x');
    await mkdir(p('folder'));
  });
  after(() => cleanup());

  it('a file: refused when it is a folder, exists (without overwrite or being our own), or its folder is missing', async () => {
    await checkOutputFile(p('new.parquet'));
    await assert.rejects(checkOutputFile(p('folder'), { example: 'data.parquet' }), /folder: --out is a folder, but it names the file to write\nFix: pass a file path, e\.g\. .*folder\/data\.parquet/);
    await assert.rejects(checkOutputFile(p('file.txt'), { flag: '--save' }), /file\.txt: already exists\nFix: pass --overwrite to replace it, or another --save/);
    await checkOutputFile(p('file.txt'), { overwrite: true });
    await checkOutputFile(p('file.txt'), { ownOutput: async () => true });
    await assert.rejects(checkOutputFile(p('missing/x.parquet')), /missing: this folder does not exist, so --out cannot be written into it\nFix: create it first \(mkdir -p .*missing\)/);
    await checkOutputFile(p('missing/deeper/x.html'), { createParents: true });
    await assert.rejects(checkOutputFile(p('file.txt/x.html'), { createParents: true }), /file\.txt: this is a file, so the folders of --out cannot be created in it/);
    await assert.rejects(checkOutputFile(p('file.txt/x.parquet')), /file\.txt: this is a file, so --out cannot be written into it/);
  });

  it('a folder: refused when it is a file or sits under one; a missing one is fine (commands create it)', async () => {
    await checkOutputFolder(p('folder'));
    await checkOutputFolder(p('not/yet/there'));
    await assert.rejects(checkOutputFolder(p('file.txt')), /file\.txt: --out must be a folder, but this is a file/);
    await assert.rejects(checkOutputFolder(p('file.txt/sub'), '--checkpoints-dir'), /file\.txt: this is a file, so the folders of --checkpoints-dir cannot be created in it/);
  });

  it('ENOSPC, EACCES, EISDIR and ENOENT become one message naming the path; other errors stay internal', () => {
    const sys = (code: string, path: string): Error => Object.assign(new Error(`${code}: something, write '${path}'`), { code, path });
    const cases: [string, RegExp][] = [
      ['ENOSPC', /^\/data\/x: no space left on the device \(ENOSPC\)\nFix: free disk space, or write somewhere else$/],
      ['EACCES', /^\/data\/x: permission denied \(EACCES\)\nFix: /],
      ['EISDIR', /^\/data\/x: is a folder where a file was expected \(EISDIR\)/],
      ['ENOENT', /^\/data\/x: no such file or folder \(ENOENT\)/],
      ['EROFS', /^\/data\/x: read-only file system \(EROFS\)/],
    ];
    for (const [code, want] of cases) {
      const e = systemErrorAsUserError(sys(code, '/data/x'));
      assert.ok(e instanceof PrototokenError, code);
      assert.match(e.message, want);
      assert.equal(e.file, '/data/x');
    }
    assert.equal(systemErrorAsUserError(new TypeError('x is undefined')), null);
    assert.equal(systemErrorAsUserError(Object.assign(new Error('odd'), { code: 'ERR_SOMETHING' })), null);
  });
});
