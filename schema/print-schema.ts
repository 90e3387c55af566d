import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { schema } from './index.js';

/**
 * Prints the SDL of the Pothos schema to schema/schema.graphql (`npm run codegen` runs it).
 * With `--check` it writes nothing and exits 1 when the checked-in file differs from the code.
 */
export const SCHEMA_FILE = fileURLToPath(new URL('./schema.graphql', import.meta.url));

export function printedSchema(): string {
  // The builder already sorts the schema (`sortSchema: true`).
  return `${printSchema(schema)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_FILE, 'utf8');
    if (current !== printedSchema()) {
      console.error(`${SCHEMA_FILE} is out of date: run \`npm run codegen\``);
      process.exit(1);
    }
    console.log(`${SCHEMA_FILE} is up to date`);
  } else {
    writeFileSync(SCHEMA_FILE, printedSchema());
    console.log(`wrote ${SCHEMA_FILE}`);
  }
}
