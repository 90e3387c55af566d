import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export interface BuiltJobQl {
  /** The output directory, laid out as the project is: `<dir>/src/worker-main.js`. */
  readonly dir: string;
  /** The built module of a source file given from the project root (`src/worker-main.ts`). */
  entry(source: string): string;
  remove(): Promise<void>;
}

/**
 * `npm run build` (or the given tsconfig, relative to the project) into a directory of its own,
 * which resolves packages from the project's node_modules: the JavaScript a deployment runs.
 */
export async function buildJobQl(tsconfig = 'tsconfig.build.json'): Promise<BuiltJobQl> {
  const dir = await mkdtemp(path.join(tmpdir(), 'jobql-build-'));
  const tsc = path.join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', tsconfig, '--outDir', dir], { cwd: PROJECT_ROOT });
  await symlink(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    dir,
    entry: (source) => path.join(dir, source.replace(/\.ts$/, '.js')),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
