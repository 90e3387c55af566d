import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { ProcessHealth } from '../health/process-health.js';
import { answerJson, listenAt, trackSockets } from './http-listener.js';
import { inRequest, requestIdFor } from './request-log-context.js';

export const LIVE_PATH = '/health/live';
export const READY_PATH = '/health/ready';
export const METRICS_PATH = '/metrics';

/**
 * The process's one HTTP port, listening from the first moment of start-up: `GET /health/live`
 * answers 200 while the process answers at all, `GET /health/ready` 200 or 503 with the checks'
 * report (`/health` is the same as live). Everything else goes to the application served once it
 * is built (GraphQL), and until then, or once it stops, answers 503 with Retry-After.
 */
export class ProcessHttp {
  readonly server: Server;
  private app: RequestListener | undefined;
  private metrics: RequestListener | undefined;
  private readonly sockets: { destroyAll(): void };

  constructor(
    private readonly health: ProcessHealth,
    private readonly unavailable: 'STARTING' | 'NOT_FOUND' = 'STARTING',
  ) {
    this.server = createServer((request, response) => this.route(request, response));
    this.sockets = trackSockets(this.server);
  }

  /** Resolves with the URL of the port's root (`http://127.0.0.1:4000`). */
  async listen(port: number, host: string): Promise<string> {
    return (await listenAt(this.server, port, host, '/')).replace(/\/$/, '');
  }

  /** Answers `GET /metrics` with `endpoint`. */
  serveMetrics(endpoint: RequestListener): void {
    this.metrics = endpoint;
  }

  /** Hands every request but the probes to `app`; `undefined` takes it back (while stopping). */
  serve(app: RequestListener | undefined): void {
    this.app = app;
  }

  async stop(): Promise<void> {
    this.sockets.destroyAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private route(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path === LIVE_PATH || path === '/health' || path === READY_PATH) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405, { error: 'GET only' }, { allow: 'GET, HEAD' });
      if (path !== READY_PATH) return answer(response, 200, { status: 'LIVE' });
      void this.health.report().then(
        (report) => answer(response, report.ready ? 200 : 503, report),
        () => answer(response, 503, { ready: false, status: 'NOT_READY', checks: [] }),
      );
      return;
    }
    if (path === METRICS_PATH && this.metrics) return this.metrics(request, response);
    const app = this.app;
    if (app) {
      const requestId = requestIdFor(request.headers['x-request-id']);
      response.setHeader('x-request-id', requestId);
      return inRequest(requestId, () => app(request, response));
    }
    if (this.unavailable === 'NOT_FOUND') return answer(response, 404, { error: 'not found' });
    answer(response, 503, { errors: [{ message: 'The server is starting or stopping', extensions: { code: 'UNAVAILABLE' } }] }, { 'retry-after': '1' });
  }
}

/** Probe answers are never cached, nor read as anything but JSON. */
const PROBE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  answerJson(response, status, body, { ...PROBE_HEADERS, ...headers });
}
