/** An error as it crosses a thread boundary: structured clone keeps neither its class nor its `code`. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: string | undefined;
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), stack: undefined, code: undefined };
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, stack: error.stack, code: typeof code === 'string' ? code : undefined };
}

export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return serialized.code === undefined ? error : Object.assign(error, { code: serialized.code });
}
