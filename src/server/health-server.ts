import { createServer, type Server } from 'node:http';
import { listenAt, trackSockets } from './http-listener.js';

export interface HealthServer {
  /** Resolves with the health URL once listening. Port 0 picks a free port. */
  listen(port: number, host: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `GET /health` for a process without the GraphQL server (a worker), so an orchestrator can
 * probe it: 200 with `report()` while healthy, 503 once it says otherwise.
 */
export function buildHealthServer(report: () => { readonly healthy: boolean; readonly [key: string]: unknown }): HealthServer {
  const http: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404).end();
      return;
    }
    const body = report();
    response.writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const sockets = trackSockets(http);
  return {
    listen: (port, host) => listenAt(http, port, host, '/health'),
    async stop() {
      sockets.destroyAll();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
