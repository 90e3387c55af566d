import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { codedError, NonRetryableError, TaskAbortedError, toError } from '../errors/index.js';
import { resultJson } from './result-json.js';
import type { AnyTaskDefinition } from '../tasks/define-task.js';
import { validatePayload } from '../tasks/validate-payload.js';
import type { FromHandlerThread, IsolatedRunRequest, ToHandlerThread } from './handler-thread-protocol.js';
import { deserializeError, serializeError } from './serialized-error.js';

/**
 * A handler thread (started by `HandlerThreadPool`): imports the module that defines a task type,
 * runs one attempt of it at a time, and reports progress, logs and the outcome as messages. The
 * worker terminates the thread when an aborted attempt does not stop in time, which stops even a
 * handler busy in a loop that never yields.
 */

if (!parentPort) throw new Error('handler-thread runs inside a worker thread started by HandlerThreadPool');
const port = parentPort;
const { logLevel } = workerData as { readonly logLevel: string };

interface CurrentRun {
  readonly runId: number;
  readonly controller: AbortController;
  readonly progressWaiters: Map<number, { resolve: () => void; reject: (error: Error) => void }>;
  nextSeq: number;
}

let current: CurrentRun | undefined;
const definitions = new Map<string, Promise<AnyTaskDefinition>>();

function post(message: FromHandlerThread): void {
  port.postMessage(message);
}

port.on('message', (message: ToHandlerThread) => {
  switch (message.type) {
    case 'run':
      void run(message.runId, message.request);
      break;
    case 'abort':
      if (current?.runId === message.runId) current.controller.abort(new TaskAbortedError(message.code, message.message));
      break;
    case 'progress-written': {
      const waiter = current?.runId === message.runId ? current.progressWaiters.get(message.seq) : undefined;
      current?.progressWaiters.delete(message.seq);
      if (message.error) waiter?.reject(deserializeError(message.error));
      else waiter?.resolve();
      break;
    }
  }
});

async function run(runId: number, request: IsolatedRunRequest): Promise<void> {
  const state: CurrentRun = { runId, controller: new AbortController(), progressWaiters: new Map(), nextSeq: 0 };
  current = state;
  try {
    const definition = await definitionOf(request.module, request.taskType);
    const payload = await validatePayload(definition.payload, request.payload, 'payload');
    if (!payload.ok) throw new NonRetryableError(payload.issues.map((i) => `${i.path}: ${i.message}`).join('; '), 'INVALID_PAYLOAD');
    const log = pino({ level: logLevel, base: undefined, timestamp: false }, { write: (line: string) => post({ type: 'log', runId, line }) });
    const result: unknown = await definition.handler({
      taskId: request.taskId,
      jobId: request.jobId,
      tenant: request.tenant,
      payload: payload.value,
      attempt: request.attempt,
      dependencies: request.dependencies,
      signal: state.controller.signal,
      log,
      progress: (value, total, message) =>
        new Promise<void>((resolve, reject) => {
          const seq = state.nextSeq++;
          state.progressWaiters.set(seq, { resolve, reject });
          post({ type: 'progress', runId, seq, current: value, total: total ?? null, message: message ?? null });
        }),
    });
    post({ type: 'done', runId, ok: true, result: resultJson(result) });
  } catch (error) {
    post({ type: 'done', runId, ok: false, error: serializeError(toError(error)) });
  } finally {
    if (current === state) current = undefined;
  }
}

/** The definition is found among the module's exports by its name (directly, or in an exported array). */
function definitionOf(module: string, taskType: string): Promise<AnyTaskDefinition> {
  const key = `${module}#${taskType}`;
  let found = definitions.get(key);
  if (!found) {
    found = import(module).then((exports: Record<string, unknown>) => {
      const candidates = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value]));
      const definition = candidates.find((value): value is AnyTaskDefinition => isDefinition(value) && value.name === taskType);
      if (!definition) throw codedError('ISOLATED_HANDLER_NOT_FOUND', `${module} exports no task definition named ${taskType}`);
      return definition;
    });
    // A module that failed to load is tried again on the next attempt.
    found.catch(() => definitions.delete(key));
    definitions.set(key, found);
  }
  return found;
}

function isDefinition(value: unknown): value is AnyTaskDefinition {
  return typeof value === 'object' && value !== null && typeof (value as { handler?: unknown }).handler === 'function' && typeof (value as { name?: unknown }).name === 'string';
}

