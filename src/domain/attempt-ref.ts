/** One attempt of one task: what every attempt write is fenced by, and what a lease is held for. */
export interface AttemptRef {
  readonly taskId: string;
  readonly attempt: number;
}
