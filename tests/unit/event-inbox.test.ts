import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventInbox } from '../../schema/subscriptions/event-inbox.js';

const IDLE_MS = 1_000;

describe('EventInbox', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out items pushed before next() in push order', async () => {
    const inbox = new EventInbox<string>();
    inbox.push('a');
    inbox.push('b');
    inbox.push('c');

    expect(await inbox.next(IDLE_MS)).toBe('a');
    expect(await inbox.next(IDLE_MS)).toBe('b');
    expect(await inbox.next(IDLE_MS)).toBe('c');
  });

  it('makes next() wait for a push', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<number>();
    let received: number | undefined;
    const next = inbox.next(IDLE_MS).then((item) => {
      received = item;
    });

    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect(received).toBeUndefined();

    inbox.push(42);
    await next;
    expect(received).toBe(42);
    // The idle timer was cleared by the push.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps items pushed while a consumer is waiting in order', async () => {
    const inbox = new EventInbox<number>();
    const first = inbox.next(IDLE_MS);
    inbox.push(1);
    inbox.push(2);

    expect(await first).toBe(1);
    expect(await inbox.next(IDLE_MS)).toBe(2);
  });

  it('resolves next(idleMs) to undefined when nothing arrives in time (fake timers)', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>();
    let settled = false;
    const next = inbox.next(IDLE_MS).then((item) => {
      settled = true;
      return item;
    });

    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    expect(await next).toBeUndefined();
  });

  it('resolves next(idleMs) to undefined after a short real idle period', async () => {
    const inbox = new EventInbox<string>();
    expect(await inbox.next(20)).toBeUndefined();
  });

  it('still delivers items pushed after an idle timeout', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>();
    const idle = inbox.next(IDLE_MS);
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(await idle).toBeUndefined();

    inbox.push('late');
    expect(await inbox.next(IDLE_MS)).toBe('late');

    const waiting = inbox.next(IDLE_MS);
    inbox.push('later');
    expect(await waiting).toBe('later');
  });
});
