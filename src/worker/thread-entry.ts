import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerOptions } from 'node:worker_threads';

/**
 * How to start a worker thread on `entry` (a module URL without its extension, next to the
 * caller). It takes this module's extension: `.js` once built, loaded as is, and `.ts` when run
 * from source (tsx, vitest). Node 20 gives a worker thread none of the parent's module hooks, and
 * tsx's `--import tsx` registers its ESM hooks on the main thread only, so from source the thread
 * registers tsx itself before importing its entry (and can then import other `.ts` modules). Its
 * execArgv is emptied so that a parent started with `--import tsx` on a Node that does register
 * in workers does not have the hooks installed twice.
 */
export function threadEntry(entry: URL): { readonly filename: string | URL; readonly options: WorkerOptions } {
  const file = new URL(`${entry.href}${extname(fileURLToPath(import.meta.url))}`);
  if (!file.pathname.endsWith('.ts')) return { filename: file, options: {} };
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch (error) {
    throw new Error(`The thread ${file.pathname} runs from TypeScript source only with tsx installed`, { cause: error });
  }
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(file.href)}); });`;
  return { filename: bootstrap, options: { eval: true, execArgv: [] } };
}
