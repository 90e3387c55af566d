import { describe, expect, it } from 'vitest';
import { decodeCancel, decodeEvents, encodeCancel, encodeEvents, sentBy } from '../../adapters/bus/wire-format.js';
import { progressData, syntheticEvents } from '../events/event-fixtures.js';

describe('wire format: who sent a message', () => {
  const events = syntheticEvents([progressData(1), progressData(2, 'x'.repeat(300))]);

  it('recognises every message of its own origin, events and cancels, also when split by size', () => {
    const messages = [...encodeEvents('origin-a', events, 600), ...encodeCancel('origin-a', ['t1', 't2'])];
    expect(messages.length).toBeGreaterThan(2);
    for (const message of messages) expect(sentBy('origin-a')(message)).toBe(true);
    expect(decodeEvents(messages[0]!).origin).toBe('origin-a');
    expect(decodeCancel(messages.at(-1)!)).toEqual({ origin: 'origin-a', taskIds: ['t1', 't2'] });
  });

  it('does not take another origin for its own, even one it is a prefix of', () => {
    for (const other of ['origin-b', 'origin-ab', 'origin-a2', 'origin']) {
      expect(sentBy('origin-a')(encodeEvents(other, events)[0]!)).toBe(false);
      expect(sentBy('origin-a')(encodeCancel(other, ['t1'])[0]!)).toBe(false);
    }
    expect(sentBy('origin-a')('not a message')).toBe(false);
    expect(sentBy('origin-a')('{"origin": "origin-a","events":[]}')).toBe(false);
  });
});
