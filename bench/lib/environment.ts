/** Where the servers are that every system in a run uses. */
export interface BenchEnvironment {
  readonly databaseUrl: string;
  readonly redisUrl: string;
}
