/** The base of every error this project reports to callers: a stable machine-readable `code`. */
export abstract class JobQlError extends Error {
  abstract readonly code: string;
}
