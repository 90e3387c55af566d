import type { Plugin } from 'graphql-yoga';

/**
 * Which browser pages may call the API, and the headers every answer carries. An API called with
 * bearer credentials needs no cookies, so CORS never allows credentials, and an origin that is not
 * listed gets no CORS headers at all (its page cannot read the answer, and a preflighted request
 * is not sent).
 */
export class BrowserPolicy {
  private readonly origins: ReadonlySet<string>;
  private readonly allowLocalhost: boolean;

  constructor(options: { readonly origins: readonly string[]; readonly allowLocalhost: boolean }) {
    this.origins = new Set(options.origins);
    this.allowLocalhost = options.allowLocalhost;
  }

  /** Whether a page of `origin` may call; a request without an Origin (not a browser page) may. */
  allows(origin: string | null | undefined): boolean {
    if (origin === undefined || origin === null) return true;
    if (this.origins.has(origin)) return true;
    return this.allowLocalhost && /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(origin);
  }

  /** yoga's `cors` option. */
  cors = (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin === null || !this.allows(origin)) return false as const;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-graphql-csrf', 'apollo-require-preflight'],
      maxAge: 600,
    };
  };
}

/**
 * The headers every answer carries: no MIME sniffing, no referrer, no framing, a content
 * security policy on HTML pages (GraphiQL, whose assets are inline), and HSTS behind TLS.
 */
export function useSecurityHeaders(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('X-Content-Type-Options', 'nosniff');
      response.headers.set('Referrer-Policy', 'no-referrer');
      response.headers.set('X-Frame-Options', 'DENY');
      if (response.headers.get('content-type')?.startsWith('text/html')) {
        response.headers.set(
          'Content-Security-Policy',
          "default-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        );
      }
      const viaTls = new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https';
      if (viaTls) response.headers.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    },
  };
}
