import type { DocumentNode } from 'graphql';
import { LRUCache } from 'lru-cache';

/** A document longer than this is parsed every time it comes: real operations are far shorter. */
const MAX_CACHED_CHARS = 32 * 1024;
/** All cached documents' texts together; their parsed forms weigh a few times more. */
const MAX_TOTAL_CHARS = 4 * 1024 * 1024;
const MAX_ENTRIES = 1024;
const TTL_MS = 60 * 60 * 1000;

/**
 * yoga's parse caches (documents, and parse errors), keyed by the document's text. Its own keep
 * 1,024 of any size: 1,024 distinct 4 MB documents, each one request, would stay in memory for an
 * hour. These keep only short ones, and a bounded total.
 */
export function parseCaches(): { documentCache: LRUCache<string, DocumentNode>; errorCache: LRUCache<string, object> } {
  const cache = <T extends object>() =>
    new LRUCache<string, T>({ max: MAX_ENTRIES, ttl: TTL_MS, maxSize: MAX_TOTAL_CHARS, maxEntrySize: MAX_CACHED_CHARS, sizeCalculation: (_value, key) => Math.max(1, key.length) });
  return { documentCache: cache<DocumentNode>(), errorCache: cache<object>() };
}
