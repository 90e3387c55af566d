import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventInbox } from '../../src/service/event-inbox.js';

const IDLE_MS = 1_000;

describe('EventInbox', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out items pushed before next() in push order', async () => {
    const inbox = new EventInbox<string>(IDLE_MS);
    inbox.push('a');
    inbox.push('b');
    inbox.push('c');

    expect(await inbox.next()).toBe('a');
    expect(await inbox.next()).toBe('b');
    expect(await inbox.next()).toBe('c');
    inbox.close();
  });

  it('makes next() wait for a push', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<number>(IDLE_MS);
    let received: number | undefined;
    const next = inbox.next().then((item) => {
      received = item;
    });

    await vi.advanceTimersByTimeAsync(IDLE_MS / 2);
    expect(received).toBeUndefined();

    inbox.push(42);
    await next;
    expect(received).toBe(42);
    inbox.close();
  });

  it('keeps items pushed while a consumer is waiting in order', async () => {
    const inbox = new EventInbox<number>(IDLE_MS);
    const first = inbox.next();
    inbox.push(1);
    inbox.push(2);

    expect(await first).toBe(1);
    expect(await inbox.next()).toBe(2);
    inbox.close();
  });

  it('resolves next() to undefined when nothing arrives in time (fake timers)', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>(IDLE_MS);
    let settled = false;
    const next = inbox.next().then((item) => {
      settled = true;
      return item;
    });

    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
    expect(await next).toBeUndefined();
    inbox.close();
  });

  it('counts the idle time of each wait from its start, whatever woke the one before', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>(IDLE_MS);
    const woken = inbox.next();
    await vi.advanceTimersByTimeAsync(IDLE_MS - 100);
    inbox.push('a');
    expect(await woken).toBe('a');

    let settled = false;
    const idle = inbox.next().then((item) => {
      settled = true;
      return item;
    });
    // The first wait's deadline passes: this wait began later and goes on.
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await idle).toBeUndefined();
    // And again after an idle wakeup.
    let again = false;
    void inbox.next().then(() => (again = true));
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect(again).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(again).toBe(true);
    inbox.close();
  });

  it('resolves next() to undefined after a short real idle period', async () => {
    const inbox = new EventInbox<string>(20);
    expect(await inbox.next()).toBeUndefined();
    inbox.close();
  });

  it('still delivers items pushed after an idle timeout', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>(IDLE_MS);
    const idle = inbox.next();
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect(await idle).toBeUndefined();

    inbox.push('late');
    expect(await inbox.next()).toBe('late');

    const waiting = inbox.next();
    inbox.push('later');
    expect(await waiting).toBe('later');
    inbox.close();
  });

  it('close() stops the idle timer and releases a waiting consumer', async () => {
    vi.useFakeTimers();
    const inbox = new EventInbox<string>(IDLE_MS);
    const waiting = inbox.next();
    expect(vi.getTimerCount()).toBe(1);
    inbox.close();
    expect(await waiting).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });
});
