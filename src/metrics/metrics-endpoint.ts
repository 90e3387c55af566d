import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ProcessMetrics } from './process-metrics.js';

/** Whether a request with this `Authorization` header may read the metrics. */
export type MetricsAuthorizer = (authorization: string | undefined) => Promise<boolean>;

/**
 * `GET /metrics`: the registry's text for Prometheus. With `authorize`, a request it refuses gets
 * 401 and nothing else; without, anyone who reaches the address may read them.
 */
export function metricsEndpoint(metrics: ProcessMetrics, authorize: MetricsAuthorizer | undefined): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { allow: 'GET, HEAD' }).end();
    void (async () => {
      if (authorize && !(await authorize(request.headers.authorization).catch(() => false))) {
        response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' }).end('An admin key of the operator tenant is required\n');
        return;
      }
      const { body, contentType } = await metrics.scrape();
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  };
}
