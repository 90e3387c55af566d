import { readFile } from 'node:fs/promises';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';

/** What a request may carry besides GraphQL's own parameters: the id of a persisted document. */
type Params = { readonly query?: string | undefined; readonly extensions?: unknown; readonly documentId?: unknown };

const ONLY = 'Only persisted operations run here: send the documentId of one, not a query';
const ID_REQUIRED = 'Send the documentId of a persisted operation';
const NOT_FOUND = 'No persisted operation has this id (PERSISTED_OPERATIONS)';

/**
 * The operations allowed to run (PERSISTED_OPERATIONS): a request names one by its hash, as
 * `documentId` (graphql-codegen's client preset) or `extensions.persistedQuery.sha256Hash`
 * (Apollo's persisted queries), and a document of its own is refused.
 */
export class PersistedOperations {
  private constructor(private readonly documents: ReadonlyMap<string, string>) {}

  /** Reads the list from a JSON file of `{ "<hash>": "<document>" }`; a malformed file fails the start. */
  static async load(file: string): Promise<PersistedOperations> {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((document) => typeof document === 'string')) {
      throw new Error(`invalid configuration:\n  PERSISTED_OPERATIONS: ${file} must hold a JSON object of hash → document`);
    }
    return new PersistedOperations(new Map(Object.entries(parsed as Record<string, string>)));
  }

  get size(): number {
    return this.documents.size;
  }

  /** For yoga's HTTP requests. */
  plugin(): Plugin {
    return usePersistedOperations({
      getPersistedOperation: (id) => this.documents.get(id) ?? null,
      extractPersistedOperationId: (params) => idOf(params),
      customErrors: {
        notFound: { message: NOT_FOUND, extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } } },
        keyNotFound: { message: ID_REQUIRED, extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } } },
        persistedQueryOnly: { message: ONLY, extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } } },
      },
    });
  }

  /** The document of a graphql-ws operation, by the same rules; throws a GraphQL error otherwise. */
  documentOf(params: Params): string {
    if (params.query) throw createGraphQLError(ONLY, { extensions: { code: 'PERSISTED_QUERY_ONLY' } });
    const id = idOf(params);
    if (id === null) throw createGraphQLError(ID_REQUIRED, { extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED' } });
    const document = this.documents.get(id);
    if (document === undefined) throw createGraphQLError(NOT_FOUND, { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    return document;
  }
}

function idOf(params: Params): string | null {
  if (typeof params.documentId === 'string') return params.documentId;
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : null;
}
