import { randomUUID } from 'node:crypto';
import { toError } from '../../src/errors/to-error.js';
import type { BeeQueueRedis } from './bee-queue-redis.js';

export interface LossDetectorOptions {
  readonly client: BeeQueueRedis;
  /** A key of the adapter's prefix that only a loss of data removes. */
  readonly markerKey: string;
  readonly intervalMs: number;
  readonly onLost: () => void;
  readonly report: (error: Error) => void;
}

/**
 * KEYS[1] marker key; ARGV[1] a fresh epoch. Sets the marker to the epoch unless it exists, and
 * returns the marker's value: the epoch of whoever set it first since Redis last lost its data.
 */
const ADOPT_EPOCH_SCRIPT = `redis.call('set', KEYS[1], ARGV[1], 'NX')
return redis.call('get', KEYS[1])`;

/**
 * Notices that Redis lost what it held (restarted empty, flushed, the keys evicted): a marker key
 * holds an epoch that each adapter remembers from its first look. A later look that finds another
 * epoch (another adapter wrote it after the loss) or none (this one writes it now) means a loss.
 * It looks whenever the client becomes ready again (a restart) and every `intervalMs` (a flush).
 */
export class LossDetector {
  readonly #options: LossDetectorOptions;
  #epoch: string | undefined;
  #checking: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #onReady = (): void => void this.check();

  constructor(options: LossDetectorOptions) {
    this.#options = options;
  }

  start(): void {
    this.#options.client.on('ready', this.#onReady);
    if (this.#options.client.status === 'ready') void this.check();
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#options.client.off('ready', this.#onReady);
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Looks at the marker now; a look already under way counts. Never rejects. */
  check(): Promise<void> {
    this.#checking ??= this.#look().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #look(): Promise<void> {
    const { client, markerKey, onLost, report } = this.#options;
    let epoch: unknown;
    try {
      epoch = await client.eval(ADOPT_EPOCH_SCRIPT, 1, markerKey, randomUUID());
    } catch (error) {
      if (!this.#stopped) report(toError(error));
      return;
    }
    if (this.#stopped || typeof epoch !== 'string' || epoch === this.#epoch) return;
    const known = this.#epoch;
    this.#epoch = epoch;
    if (known !== undefined) onLost();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.check().finally(() => this.#schedule());
    }, this.#options.intervalMs);
  }
}
