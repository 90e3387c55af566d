import { setTimeout as sleep } from 'node:timers/promises';

/**
 * SQLSTATE classes and codes that say "the connection or server failed, not your statement":
 * 08 connection exceptions, 57P01–57P03 admin shutdown / crash shutdown / cannot connect now,
 * 40001/40P01 serialization failure and deadlock (the transaction can simply run again).
 */
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '40001', '40P01']);
const TRANSIENT_MESSAGES = [/connection terminated/i, /not queryable/i, /ECONNREFUSED|ECONNRESET|EPIPE/, /timeout exceeded when trying to connect/i];

/** Also through `cause`: a wrapper (a failed migration's error) keeps the driver's error there. */
export function isTransientDatabaseError(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (code.startsWith('08') || TRANSIENT_CODES.has(code))) return true;
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && TRANSIENT_MESSAGES.some((pattern) => pattern.test(message))) return true;
  const { cause } = error as { cause?: unknown };
  return isTransientDatabaseError(cause, depth + 1);
}

/**
 * Runs a store write again while it fails for a transient reason, waiting 50 ms, 100 ms, …
 * up to `maxDelayMs` between tries, for at most `budgetMs` in all. Only for writes that are safe
 * to repeat: every attempt write is fenced, so a repeat of one that did commit changes nothing.
 */
export async function retryTransient<T>(
  write: () => Promise<T>,
  options: { readonly budgetMs: number; readonly maxDelayMs?: number; readonly onRetry?: (error: unknown) => void },
): Promise<T> {
  const deadline = Date.now() + options.budgetMs;
  let delay = 50;
  for (;;) {
    try {
      return await write();
    } catch (error) {
      if (!isTransientDatabaseError(error) || Date.now() + delay > deadline) throw error;
      options.onRetry?.(error);
      await sleep(delay);
      delay = Math.min(delay * 2, options.maxDelayMs ?? 1_000);
    }
  }
}
