import type { RequestListener, Server } from 'node:http';
import { createGraphQLError, createYoga, isAsyncIterable, type YogaInitialContext } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DocumentNode, ExecutionArgs, GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { createContext, schema } from '../../schema/index.js';
import { maskError } from './mask-error.js';
import { useSharedEventExecution } from './shared-event-execution.js';
import type { JobService, OperationsService, ScheduleService } from '../service/index.js';
import type { AccessService } from '../access/index.js';
import type { ProcessHealth } from '../health/process-health.js';
import { JobQlError, UnauthenticatedError } from '../errors/index.js';
import { CredentialWatch } from './credential-watch.js';
import { shapeError, shapeResult, useErrorShape } from './error-shape.js';
import { armourPlugins, type ArmourLimits } from './armour.js';
import { withBodyLimit } from './body-limit.js';
import { useSecurityHeaders, type BrowserPolicy } from './browser-policy.js';
import { Admission, type Admitted } from './admission.js';
import { RateLimits, type RateLimitSettings } from './rate-limits.js';
import { withConnectionShare } from './connection-share.js';
import { parseCaches } from './document-cache.js';
import type { PersistedOperations } from './persisted-operations.js';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { ProcessMetrics } from '../metrics/process-metrics.js';
import { inRequest, iteratedInRequest, requestIdFor } from './request-log-context.js';

export interface GraphqlServerOptions {
  readonly service: JobService;
  readonly operations: OperationsService;
  readonly schedules: ScheduleService;
  readonly access: AccessService;
  readonly health: ProcessHealth;
  /** Where operations are counted and timed, and open subscriptions shown. */
  readonly metrics: ProcessMetrics;
  readonly logger: Logger;
  /** Whether the schema may be introspected (`GRAPHQL_INTROSPECTION`). */
  readonly introspection: boolean;
  /** Whether GraphiQL is served at the endpoint (`GRAPHIQL`). */
  readonly graphiql: boolean;
  /** How often open WebSockets' keys and tokens are checked again; a revoked key's end within this after its lookup expires. */
  readonly credentialCheckMs: number;
  /** The browser pages that may call (CORS and the WebSocket's Origin). */
  readonly browser: BrowserPolicy;
  readonly armour: ArmourLimits;
  /** The largest body or WebSocket message. */
  readonly maxBodyBytes: number;
  readonly maxSubscriptionsPerConnection: number;
  readonly rateLimits: RateLimitSettings;
  /** How many of the pool's connections one request (or subscription event) may hold at once. */
  readonly connectionsPerRequest: number;
  /** When set, only these operations run. */
  readonly persistedOperations?: PersistedOperations | undefined;
  /** The process's HTTP server: its WebSocket upgrades on the endpoint are graphql-ws's. */
  readonly http: Server;
}

export interface GraphqlServer {
  /** Answers the HTTP requests (the probes aside) of the process's server. */
  readonly handle: RequestListener;
  /** Ends every WebSocket and stops taking new ones; the HTTP server itself is the process's to close. */
  stop(): Promise<void>;
}

export const GRAPHQL_PATH = '/graphql';
const ENDPOINT = GRAPHQL_PATH;

/** graphql-ws close codes: no valid credential, a credential without the scope needed, past the request rate. */
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_RATE_LIMITED = 4429;

/** No `instanceof`: graphql may be loaded twice (see mask-error.ts). */
const isGraphQLError = (error: unknown): error is GraphQLError => typeof error === 'object' && error !== null && 'extensions' in error && 'locations' in error;

const addressOf = (request: { readonly socket: { readonly remoteAddress?: string | undefined } }): string => request.socket.remoteAddress ?? 'unknown';

/** An error of ours that a request caused, thrown as it is or wrapped by graphql. */
const isCallersError = (error: unknown): boolean =>
  error instanceof JobQlError || (typeof error === 'object' && error !== null && (error as { originalError?: unknown }).originalError instanceof JobQlError);

/** Enveloped execute/subscribe travel to graphql-ws through the root value. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
  /** The operation's request id: the connection's, then the operation's id. */
  requestId: string;
}

/** What a WebSocket connection keeps: who opened it (admitted once, at connection_init). */
type ConnectionExtra = {
  admitted?: Admitted;
  /** The caller's `X-Request-Id` on the upgrade, if plain, or one of ours: its operations' ids begin with it. */
  requestId?: string;
  /** The ids of the operations it has running. */
  operations?: Set<string>;
};

/**
 * graphql-yoga over HTTP and graphql-ws over WebSocket, on the same port and path. Every HTTP
 * request is authenticated from its `Authorization` header, every WebSocket once from its
 * `connectionParams.authorization`, and the principal goes into the operation's context, where
 * the schema's scopes are checked. It serves on the process's HTTP server, and `stop` closes
 * every WebSocket it has open.
 */
export function buildGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const { service, access } = options;
  const admission = new Admission(access, new RateLimits(options.rateLimits));
  const yoga = createYoga<Record<string, unknown>>({
    schema,
    graphqlEndpoint: ENDPOINT,
    context: (initial: YogaInitialContext & ConnectionExtra) => {
      const admitted = initial.admitted ?? admission.of(initial.request);
      if (admitted.principal === undefined) throw admitted.refusal ?? new UnauthenticatedError();
      return createContext({ service: withConnectionShare(service, options.connectionsPerRequest), operations: options.operations, schedules: options.schedules, access, health: options.health }, admitted.principal, admitted.quota);
    },
    // GraphiQL's assets come inline from the package: the page loads with no other host reachable.
    graphiql: options.graphiql ? { subscriptionsProtocol: 'WS', title: 'jobql', headers: '{"authorization": "Bearer "}' } : false,
    renderGraphiQL,
    landingPage: false,
    cors: options.browser.cors,
    maskedErrors: { maskError },
    parserAndValidationCache: parseCaches(),
    plugins: [
      admission.plugin(),
      useErrorShape(),
      useSecurityHeaders(),
      ...(options.persistedOperations ? [options.persistedOperations.plugin()] : []),
      ...armourPlugins(options.armour),
      useSharedEventExecution(),
      // Operations by name, type and outcome, with their durations; served at the process's /metrics.
      usePrometheus({
        registry: options.metrics.registry,
        endpoint: false,
        metrics: { graphql_envelop_request: true, graphql_envelop_request_duration: true, graphql_envelop_error_result: true },
      }),
      ...(options.introspection ? [] : [useDisableIntrospection()]),
    ],
    logging: {
      debug: (...args) => options.logger.debug(args.map(String).join(' ')),
      info: (...args) => options.logger.info(args.map(String).join(' ')),
      warn: (...args) => options.logger.warn(args.map(String).join(' ')),
      // yoga logs each error it masks: ours (a bad id, a missing credential) are the caller's, not the server's.
      error: (...args) => (isCallersError(args[0]) ? options.logger.debug : options.logger.error).call(options.logger, args.map(String).join(' ')),
    },
  });
  const wss = new WebSocketServer({
    server: options.http,
    path: ENDPOINT,
    // A larger message closes the socket (1009) before it is parsed.
    maxPayload: options.maxBodyBytes,
    // A browser page of an origin that may not call cannot open one either.
    verifyClient: ({ origin }: { origin?: string }, callback: (allowed: boolean, code?: number, message?: string) => void) =>
      options.browser.allows(origin) ? callback(true) : callback(false, 403, 'Origin not allowed'),
  });
  const connections = new Set<ConnectionExtra>();
  options.metrics.reportSubscriptions(() => {
    let operations = 0;
    for (const connection of connections) operations += connection.operations?.size ?? 0;
    return { sockets: wss.clients.size, operations };
  });
  const watch = new CredentialWatch<WebSocket>(access, options.credentialCheckMs, (socket) =>
    socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized: the key was revoked or the token expired'),
  );
  const wsServer = useServer<Record<string, unknown> | undefined, ConnectionExtra>(
    {
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.['authorization'];
        const admitted = await admission.admit(typeof authorization === 'string' ? authorization : undefined, addressOf(ctx.extra.request));
        if (admitted.limited) {
          ctx.extra.socket.close(CLOSE_RATE_LIMITED, `Rate limited: retry in ${admitted.limited.retryAfterSeconds} s`);
          return false;
        }
        if (admitted.principal === undefined) {
          ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
          return false;
        }
        ctx.extra.admitted = admitted;
        ctx.extra.requestId = requestIdFor(ctx.extra.request.headers['x-request-id']);
        connections.add(ctx.extra);
        watch.add(ctx.extra.socket, admitted.principal);
        return true;
      },
      onClose: (ctx) => {
        connections.delete(ctx.extra);
        watch.remove(ctx.extra.socket);
      },
      onComplete: (ctx, id) => void ctx.extra.operations?.delete(id),
      onError: (ctx, id, _payload, errors) => {
        ctx.extra.operations?.delete(id);
        return errors.map((error) => shapeError(error.toJSON()));
      },
      // Each operation's log lines carry its request id, a subscription's as each event resolves.
      execute: (args) => {
        const root = args.rootValue as EnvelopedRoot;
        return inRequest(root.requestId, () => root.execute(args)) as never;
      },
      subscribe: async (args) => {
        const root = args.rootValue as EnvelopedRoot;
        const result = await inRequest(root.requestId, () => root.subscribe(args));
        return (isAsyncIterable(result) ? iteratedInRequest(root.requestId, result) : result) as never;
      },
      onSubscribe: async (ctx, id, params) => {
        // Each operation counts as a request of the connection's caller.
        const limited = await ctx.extra.admitted?.another();
        if (limited) return [createGraphQLError(limited.message, { extensions: { code: limited.code, retryAfterMs: limited.retryAfterMs } })];
        // Counted and taken with no await between, so that operations arriving together cannot all pass.
        const operations = (ctx.extra.operations ??= new Set());
        if (operations.size >= options.maxSubscriptionsPerConnection) {
          return [
            createGraphQLError(`This connection already runs ${operations.size} operations, the limit (MAX_SUBSCRIPTIONS_PER_CONNECTION)`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        operations.add(id);
        const enveloped = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          admitted: ctx.extra.admitted,
        });
        let document: DocumentNode;
        try {
          // A persisted operation's client sends an empty query (graphql-ws wants a string) and its id.
          document = enveloped.parse(options.persistedOperations ? options.persistedOperations.documentOf(params) : params.query);
        } catch (error) {
          operations.delete(id);
          if (isGraphQLError(error)) return [error];
          throw error;
        }
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) {
          operations.delete(id);
          return errors;
        }
        return {
          schema: enveloped.schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe, requestId: `${ctx.extra.requestId}:${id}` } satisfies EnvelopedRoot,
        };
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        if (result.errors?.some((error) => error.extensions?.['code'] === 'FORBIDDEN')) ctx.extra.socket.close(CLOSE_FORBIDDEN, 'Forbidden');
        return result.errors?.length ? shapeResult(result) : undefined;
      },
    },
    wss,
  );

  return {
    handle: withBodyLimit(options.maxBodyBytes, yoga),
    async stop() {
      watch.stop();
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
