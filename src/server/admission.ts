import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { AccessService, Principal } from '../access/index.js';
import { RateLimitError, UnauthenticatedError } from '../errors/index.js';
import type { TaskQuota } from '../../schema/index.js';
import { rateKeyOf, type RateLimits } from './rate-limits.js';

/** Who a request or connection is from, and whether it may go on. */
export interface Admitted {
  /** Absent when its credential was refused: `refusal` says why. */
  readonly principal: Principal | undefined;
  readonly refusal: UnauthenticatedError | undefined;
  /** Set when the caller is past its request rate. */
  readonly limited: RateLimitError | undefined;
  readonly quota: TaskQuota;
  /** Counts one more request of the same caller (an operation on its WebSocket). */
  another(): Promise<RateLimitError | undefined>;
  /** The refusal to announce (`Retry-After`), once a limit refused something of this request. */
  readonly refused: () => RateLimitError | undefined;
}

/**
 * The door every HTTP request and WebSocket passes first: its credential checked, once, and its
 * caller's request counted against the rate. A refused credential counts for the address it
 * came from, so guessing keys is held to the same rate.
 */
export class Admission {
  private readonly admitted = new WeakMap<Request, Admitted>();

  constructor(
    private readonly access: AccessService,
    private readonly limits: RateLimits,
  ) {}

  async admit(authorization: string | undefined, address: string): Promise<Admitted> {
    let principal: Principal | undefined;
    let refusal: UnauthenticatedError | undefined;
    try {
      principal = await this.access.authenticate(authorization);
    } catch (error) {
      if (!(error instanceof UnauthenticatedError)) throw error;
      refusal = error;
    }
    const key = rateKeyOf(principal, address);
    const limited = await this.limits.request(key);
    let refused = limited;
    const quota: TaskQuota = {
      take: async (count) => {
        const tooMany = await this.limits.submittedTasks(key, count);
        if (tooMany === undefined) return;
        refused = tooMany;
        throw tooMany;
      },
    };
    return { principal, refusal, limited, quota, another: () => this.limits.request(key), refused: () => refused };
  }

  /** What `plugin` found of an HTTP request, for its context. */
  of(request: Request): Admitted {
    const admitted = this.admitted.get(request);
    if (admitted === undefined) throw new Error('a request reached its context without passing the admission');
    return admitted;
  }

  /**
   * For yoga: admits each request before it is parsed (a refused one answers 429 with
   * `Retry-After`, and still gets the CORS headers), and announces `Retry-After` on an answer
   * whose submission went past the task rate. Preflights are the CORS plugin's alone.
   */
  plugin(): Plugin {
    return {
      onRequest: async ({ request, serverContext, endResponse, fetchAPI }) => {
        if (request.method === 'OPTIONS') return;
        // The node request yoga was handed, beside the fetch one.
        const address = (serverContext as { req?: IncomingMessage }).req?.socket.remoteAddress ?? 'unknown';
        const admitted = await this.admit(request.headers.get('authorization') ?? undefined, address);
        this.admitted.set(request, admitted);
        if (admitted.limited === undefined) return;
        const { message, code, retryAfterMs, retryAfterSeconds } = admitted.limited;
        endResponse(
          new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code, retryAfterMs } }] }), {
            status: 429,
            headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfterSeconds) },
          }),
        );
      },
      onResponse: ({ request, response }) => {
        const refused = this.admitted.get(request)?.refused();
        if (refused !== undefined && !response.headers.has('retry-after')) response.headers.set('retry-after', String(refused.retryAfterSeconds));
      },
    };
  }
}
