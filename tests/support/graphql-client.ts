import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A credential to send: an API key or a token, as `Authorization: Bearer …`. */
export interface Caller {
  readonly authorization?: string;
}

/** Sends one typed operation over real HTTP; throws on transport or GraphQL errors. */
export async function execute<Result, Variables>(
  url: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  caller: Caller = {},
): Promise<Result> {
  const result = await executeRaw(url, document, variables, caller);
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  if (!result.data) throw new Error('GraphQL response had no data');
  return result.data;
}

export async function executeRaw<Result, Variables>(
  url: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  caller: Caller = {},
): Promise<ExecutionResult<Result>> {
  return (await send(url, document, variables, caller)).result;
}

/** The HTTP status and the body of one operation. */
export async function send<Result, Variables>(
  url: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
  caller: Caller = {},
): Promise<{ status: number; headers: Headers; result: ExecutionResult<Result> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(caller.authorization !== undefined ? { authorization: `Bearer ${caller.authorization}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, headers: response.headers, result: (await response.json()) as ExecutionResult<Result> };
}

export function wsClient(url: string, caller: Caller = {}): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    ...(caller.authorization !== undefined ? { connectionParams: { authorization: `Bearer ${caller.authorization}` } } : {}),
  });
}

export interface Subscription<Result> {
  readonly events: Result[];
  /** Resolves when the server completes the stream; rejects on an error. */
  readonly done: Promise<Result[]>;
  /** Resolves once `predicate` holds for some received event. */
  waitFor(predicate: (event: Result) => boolean, timeoutMs?: number): Promise<Result>;
  unsubscribe(): void;
}

/** Subscribes over graphql-ws and records every payload, as `pick` selects it from the data. */
export function subscribe<Data, Variables extends Record<string, unknown>, Result>(
  client: Client,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  pick: (data: Data) => Result,
): Subscription<Result> {
  const events: Result[] = [];
  const waiters: { predicate: (event: Result) => boolean; resolve: (event: Result) => void }[] = [];
  let unsubscribe = (): void => {};
  const done = new Promise<Result[]>((resolve, reject) => {
    unsubscribe = client.subscribe<Data>(
      { query: print(document), variables },
      {
        next: (value) => {
          if (value.errors?.length) return reject(new Error(`subscription errors: ${JSON.stringify(value.errors)}`));
          if (!value.data) return;
          const event = pick(value.data);
          events.push(event);
          for (const waiter of [...waiters]) {
            if (waiter.predicate(event)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(event);
            }
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(events),
      },
    );
  });
  done.catch(() => {});
  return {
    events,
    done,
    unsubscribe: () => unsubscribe(),
    waitFor(predicate, timeoutMs = 15_000) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
      });
    },
  };
}
