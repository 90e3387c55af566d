import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { FieldIssue } from '../errors/index.js';

export type PayloadCheck<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: FieldIssue[] };

/** Runs a Standard Schema on a payload; issues come back with paths under `pathPrefix`. */
export async function validatePayload<T>(
  schema: StandardSchemaV1<unknown, T>,
  payload: unknown,
  pathPrefix: string,
): Promise<PayloadCheck<T>> {
  const result = await schema['~standard'].validate(payload);
  if (!result.issues) return { ok: true, value: result.value };
  return {
    ok: false,
    issues: result.issues.map((issue) => ({
      path: [pathPrefix, ...(issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p))].join('.'),
      message: issue.message,
    })),
  };
}
