import type { QueueAdapter } from '../../adapters/queue-adapter.js';
import { createGate } from './contract-helpers.js';
import type { Gate } from './contract-helpers.js';

export interface ContractOptions {
  /** How long a test waits for deliveries before failing (default 10 s; raise it for slow servers). */
  readonly timeoutMs?: number;
  /**
   * Makes the adapter die as its process would under kill -9: it stops renewing what its
   * consumers hold, acknowledges nothing more, and drops its connections. Required when the
   * adapter declares `survivesConsumerDeath`.
   */
  readonly crash?: (adapter: QueueAdapter) => Promise<void>;
}

/** What each contract area sees: a fresh adapter per test, created in beforeEach. */
export interface ContractContext {
  readonly adapter: QueueAdapter;
  readonly timeoutMs: number;
  /** A gate opened before afterEach closes the adapter, so a failing test cannot hang the drain. */
  gate(): Gate;
  /** Closes the adapter; afterEach then leaves it alone (close need not be idempotent). */
  close(): Promise<void>;
  /** Kills the adapter as kill -9 would its process (see `ContractOptions.crash`). */
  crash(): Promise<void>;
  /** Another instance of the adapter, as in another process; closed after the test. */
  anotherAdapter(): Promise<QueueAdapter>;
}

export interface ContractLifecycle {
  readonly context: ContractContext;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

export function createContractLifecycle(
  makeAdapter: () => Promise<QueueAdapter>,
  options: ContractOptions,
): ContractLifecycle {
  let adapter: QueueAdapter | undefined;
  let closed: Promise<void> | undefined;
  let gates: Gate[] = [];
  let others: QueueAdapter[] = [];

  const context: ContractContext = {
    get adapter() {
      if (adapter === undefined) throw new Error('adapter used outside a test');
      return adapter;
    },
    timeoutMs: options.timeoutMs ?? 10_000,
    gate() {
      const gate = createGate();
      gates.push(gate);
      return gate;
    },
    close() {
      closed ??= context.adapter.close();
      return closed;
    },
    async crash() {
      if (options.crash === undefined) throw new Error(`${context.adapter.name}: the contract needs options.crash for this test`);
      closed ??= options.crash(context.adapter);
      await closed;
    },
    async anotherAdapter() {
      const other = await makeAdapter();
      others.push(other);
      return other;
    },
  };

  return {
    context,
    async setUp() {
      adapter = await makeAdapter();
      closed = undefined;
      gates = [];
      others = [];
    },
    async tearDown() {
      for (const gate of gates) gate.open();
      if (adapter !== undefined) await context.close();
      await Promise.all(others.map((other) => other.close()));
      adapter = undefined;
    },
  };
}
