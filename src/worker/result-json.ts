import { NonRetryableError, toError } from '../errors/index.js';

/** A handler's result as the store will keep it (undefined as null); what JSON cannot carry fails the task. */
export function resultJson(result: unknown): string {
  try {
    return JSON.stringify(result ?? null);
  } catch (error) {
    throw new NonRetryableError(`the handler's result cannot be stored as JSON: ${toError(error).message}`, 'RESULT_NOT_JSON');
  }
}
