import { createInterface } from 'node:readline';
import type { JobQlProcess } from './jobql-process.js';

/** Node arguments that make a jobql process record the npm packages it imports (see the .mjs). */
export const RECORD_LOADED_PACKAGES = ['--import', new URL('./record-loaded-packages.mjs', import.meta.url).pathname];

/** The packages a process started with RECORD_LOADED_PACKAGES has imported so far, sorted. */
export async function loadedPackagesOf(running: JobQlProcess): Promise<string[]> {
  const stdout = running.child.stdout;
  if (!stdout) throw new Error('the process was started without a stdout pipe');
  const lines = createInterface({ input: stdout });
  try {
    const report = new Promise<string[]>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line.startsWith('{"loadedPackages"')) resolve((JSON.parse(line) as { loadedPackages: string[] }).loadedPackages);
      });
      lines.once('close', () => reject(new Error(`the process ended before it reported its packages:\n${running.output()}`)));
    });
    running.child.kill('SIGUSR2');
    return await report;
  } finally {
    lines.close();
  }
}
