import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseCaches } from '../../src/server/document-cache.js';

describe('parseCaches', () => {
  it('keeps short documents and never a long one', () => {
    const { documentCache } = parseCaches();
    const short = '{ __typename }';
    documentCache.set(short, parse(short));
    expect(documentCache.get(short)).toBeDefined();
    const long = `{ job(id: "${'J'.repeat(100_000)}") { id } }`;
    documentCache.set(long, parse(long));
    expect(documentCache.get(long)).toBeUndefined();
  });

  it('bounds what all cached texts weigh together', () => {
    const { errorCache } = parseCaches();
    for (let n = 0; n < 1_000; n++) errorCache.set(`${n}:${'x'.repeat(30_000)}`, new Error('x'));
    expect(errorCache.calculatedSize).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(errorCache.size).toBeLessThan(200);
  });
});
