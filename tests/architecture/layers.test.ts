import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';
import { LAYER_RULES } from './layer-rules.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

async function cruiseAt(baseDir: string, roots: string[], tsConfig?: string): Promise<ICruiseResult> {
  const reported = await cruise(roots, {
    baseDir,
    validate: true,
    ruleSet: { forbidden: LAYER_RULES },
    doNotFollow: { path: 'node_modules' },
    // Resolves our `.js` specifiers to the `.ts` sources, as TypeScript does.
    ...(tsConfig ? { tsConfig: { fileName: tsConfig } } : {}),
  });
  return reported.output as ICruiseResult;
}

function violations(result: ICruiseResult): string[] {
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' → ')})` : ''}`);
}

describe('the layer rules of DESIGN.md', () => {
  it('hold for every production module, with no import cycle', { timeout: 60_000 }, async () => {
    const result = await cruiseAt(ROOT, ['src', 'adapters', 'schema', 'migrations'], 'tsconfig.json');
    const ours = result.modules.filter((module) => /^(src|adapters|schema|migrations)\//.test(module.source));
    expect(ours.length).toBeGreaterThan(150);
    // Every import of ours resolved to a source file: a rule can only judge what it sees.
    const unresolved = ours.flatMap((module) => module.dependencies.filter((d) => d.couldNotResolve && d.module.startsWith('.')).map((d) => `${module.source} → ${d.module}`));
    expect(unresolved).toEqual([]);
    expect(violations(result)).toEqual([]);
  });

  it('are broken by an import against them, and by a cycle', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'layers-'));
    try {
      const file = async (name: string, text: string): Promise<void> => {
        await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
        await writeFile(path.join(dir, name), text);
      };
      await file('src/domain/rule.js', "import { read } from '../store/read.js';\nexport const rule = read;\n");
      await file('src/store/read.js', "import { rule } from '../domain/rule.js';\nexport const read = () => rule;\n");
      await file('schema/field.js', "import { read } from '../src/store/read.js';\nexport const field = read;\n");
      await file('adapters/redis/bus.js', "import { x } from '../postgres/x.js';\nexport const bus = x;\n");
      await file('adapters/postgres/x.js', 'export const x = 1;\n');
      const found = violations(await cruiseAt(dir, ['src', 'schema', 'adapters']));
      expect(found).toEqual(
        expect.arrayContaining([
          'domain-is-pure: src/domain/rule.js → src/store/read.js',
          'the-schema-goes-through-the-service: schema/field.js → src/store/read.js',
          'a-backend-keeps-to-its-folder: adapters/redis/bus.js → adapters/postgres/x.js',
        ]),
      );
      expect(found.some((line) => line.startsWith('no-cycle: '))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
