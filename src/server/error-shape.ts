import type { GraphQLFormattedError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** The longest message an error carries: none echoes a large input back. */
export const MAX_MESSAGE_LENGTH = 300;

/**
 * Every error as clients get it: with an `extensions.code` (errors that graphql, yoga or the
 * armour made without one get the code of their kind), a message of at most MAX_MESSAGE_LENGTH
 * characters, and no `originalError`, which would echo the input (an invalid JSON body) back.
 */
export function shapeError(error: GraphQLFormattedError): GraphQLFormattedError {
  const { originalError: _echo, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
  const code = typeof extensions['code'] === 'string' ? extensions['code'] : codeOf(error.message);
  const message = error.message.length > MAX_MESSAGE_LENGTH ? `${error.message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : error.message;
  return { ...error, message, extensions: { ...extensions, code } };
}

function codeOf(message: string): string {
  if (/limit of \d+ exceeded|Token limit/i.test(message)) return 'LIMIT_EXCEEDED';
  if (/CSRF/.test(message)) return 'CSRF_HEADER_REQUIRED';
  if (/^Variable "|got invalid value|^Invalid global ID/.test(message)) return 'BAD_USER_INPUT';
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** The errors of a result, shaped, as graphql-ws sends them; the result itself when it has none. */
export function shapeResult<Result extends { readonly errors?: readonly GraphQLFormattedError[] | undefined }>(result: Result): Result {
  if (!result.errors?.length) return result;
  // The errors' own toJSON gives their formatted form (message, locations, path, extensions).
  const formatted = result.errors.map((error) => shapeError(JSON.parse(JSON.stringify(error)) as GraphQLFormattedError));
  return { ...result, errors: formatted };
}

/**
 * The same, in place, for yoga: its errors stay GraphQLErrors, whose `extensions.http` yoga turns
 * into the answer's status and leaves out of the body.
 */
function shapeInPlace(result: { readonly errors?: readonly unknown[] | undefined }): void {
  for (const error of result.errors ?? []) {
    if (typeof error !== 'object' || error === null || !('message' in error)) continue;
    const shaped = shapeError({ message: String(error.message), extensions: (error as { extensions?: Record<string, unknown> }).extensions ?? {} });
    Object.defineProperty(error, 'message', { value: shaped.message, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(error, 'extensions', { value: shaped.extensions, writable: true, configurable: true, enumerable: true });
  }
}

/**
 * Shapes every HTTP result's errors (see shapeError), and answers a GET whose `variables` or
 * `extensions` parameter is not JSON with a 400 instead of yoga's 500.
 */
export function useErrorShape(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'GET') return;
      const params = new URL(request.url).searchParams;
      for (const name of ['variables', 'extensions']) {
        const value = params.get(name);
        if (value === null) continue;
        try {
          JSON.parse(value);
        } catch {
          throw createGraphQLError(`The ${name} parameter is not valid JSON`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
        }
      }
    },
    onResultProcess({ result }) {
      for (const one of Array.isArray(result) ? result : [result]) {
        if (typeof one === 'object' && one !== null && 'errors' in one) shapeInPlace(one);
      }
    },
  };
}
