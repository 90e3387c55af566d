import WebSocket from 'ws';

/** The memory figures of a process, in MB (process.memoryUsage()). */
export interface MemoryFigures {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/**
 * A connection to a child's inspector (`--inspect=127.0.0.1:0`, whose address the child prints):
 * a full garbage collection on demand, so that what a test compares is memory still referenced,
 * not garbage V8 has not yet had a reason to collect.
 */
export class HeapInspector {
  private nextId = 1;
  private readonly answers = new Map<number, (result: unknown) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) this.answers.get(message.id)?.(message.result);
      if (message.id !== undefined) this.answers.delete(message.id);
    });
  }

  /** Connects to the inspector whose `Debugger listening on ws://…` line is in `output`. */
  static async connect(output: string): Promise<HeapInspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
    if (url === undefined) throw new Error(`no inspector address in the output:\n${output}`);
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new HeapInspector(socket);
  }

  /** Collects all garbage, then reads the figures. */
  async collectedMemory(): Promise<MemoryFigures> {
    await this.call('HeapProfiler.collectGarbage');
    const answer = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)])))',
      returnByValue: true,
    })) as { result: { value: string } };
    return JSON.parse(answer.result.value) as MemoryFigures;
  }

  close(): void {
    this.socket.close();
  }

  private call(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.answers.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}
