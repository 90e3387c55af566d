import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Run as child processes: the real scripts, each with a single copy of graphql-js loaded.
describe('checked-in artifacts match the code', () => {
  it('schema/schema.graphql is the schema the code builds', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'schema/print-schema.ts', '--check'], { cwd: ROOT });
    expect(stdout).toContain('is up to date');
  });

  it('the generated typed documents are what codegen makes of the schema and operations', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'jobql-codegen-'));
    try {
      const config = path.join(ROOT, 'codegen.ts');
      await run(path.join(ROOT, 'node_modules/.bin/graphql-codegen'), ['--config', config, '--silent'], {
        cwd: ROOT,
        env: { ...process.env, CODEGEN_OUTPUT: `${out}/` },
      });
      const generated = path.join(ROOT, 'tests/graphql/generated');
      for (const file of readdirSync(generated)) {
        expect(readFileSync(path.join(out, file), 'utf8'), `${file} is stale: run \`npm run codegen\``).toBe(
          readFileSync(path.join(generated, file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('every numbered migration file is listed, in order', () => {
    const files = readdirSync(path.join(ROOT, 'migrations'))
      .filter((name) => /^\d{4}_.+\.ts$/.test(name))
      .map((name) => name.replace(/\.ts$/, ''))
      .sort();
    expect(Object.keys(migrations)).toEqual(files);
  });
});
