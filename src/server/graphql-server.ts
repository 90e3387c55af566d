import { createServer, type Server } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { ExecutionArgs } from 'graphql';
import type { Logger } from 'pino';
import { createContext, schema } from '../../schema/index.js';
import { listenAt, trackSockets } from './http-listener.js';
import { maskError } from './mask-error.js';
import { useSharedEventExecution } from './shared-event-execution.js';
import type { JobService } from '../service/job-service.js';

export interface GraphqlServerOptions {
  readonly service: JobService;
  readonly logger: Logger;
}

export interface GraphqlServer {
  /** Resolves with the URL of the GraphQL endpoint once listening. Port 0 picks a free port. */
  listen(port: number, host: string): Promise<string>;
  stop(): Promise<void>;
}

const ENDPOINT = '/graphql';

/** Enveloped execute/subscribe travel to graphql-ws through the root value. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-yoga over HTTP and graphql-ws over WebSocket, on the same port and path. Built, not
 * started: `listen` starts it, and `stop` closes every socket it has open.
 */
export function buildGraphqlServer(options: GraphqlServerOptions): GraphqlServer {
  const yoga = createYoga({
    schema,
    graphqlEndpoint: ENDPOINT,
    context: () => createContext(options.service),
    graphiql: { subscriptionsProtocol: 'WS', title: 'jobql' },
    landingPage: false,
    maskedErrors: { maskError },
    plugins: [useSharedEventExecution()],
    logging: {
      debug: (...args) => options.logger.debug(args.map(String).join(' ')),
      info: (...args) => options.logger.info(args.map(String).join(' ')),
      warn: (...args) => options.logger.warn(args.map(String).join(' ')),
      error: (...args) => options.logger.error(args.map(String).join(' ')),
    },
  });
  const http: Server = createServer(yoga);
  const sockets = trackSockets(http);
  const wss = new WebSocketServer({ server: http, path: ENDPOINT });
  const wsServer = useServer(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params });
        const document = enveloped.parse(params.query);
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        return {
          schema: enveloped.schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies EnvelopedRoot,
        };
      },
    },
    wss,
  );

  return {
    listen: (port, host) => listenAt(http, port, host, ENDPOINT),
    async stop() {
      await wsServer.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      sockets.destroyAll();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
