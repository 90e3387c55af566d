import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * `npm run codegen` prints schema/schema.graphql from the Pothos schema (schema/print-schema.ts),
 * then generates typed documents for the operations in tests/graphql/ (the client preset).
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['tests/graphql/operations.ts'],
  ignoreNoDocuments: false,
  // ESM: generated imports carry their .js extension.
  emitLegacyCommonJSImports: false,
  generates: {
    [process.env['CODEGEN_OUTPUT'] ?? 'tests/graphql/generated/']: {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
