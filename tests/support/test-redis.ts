/** The machine's Redis; tests keep apart by key prefix, never by flushing. */
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
