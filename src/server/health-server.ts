import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
  const sockets = new Set<Socket>();
  const http: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404).end();
      return;
    }
    const body = report();
    response.writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const { port: bound } = http.address() as AddressInfo;
          resolve(`http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${bound}/health`);
        });
      }),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
