/** A plain Error carrying a `code`, which becomes the failed attempt's `TaskError.code`. */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
