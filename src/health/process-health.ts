import { toError } from '../errors/to-error.js';

/** One thing a process needs to do its work: it throws, with a short reason, when it is not there. */
export interface HealthCheck {
  readonly name: string;
  run(): Promise<void>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** Why it failed: our own words and an error code, never a host, a statement or a stack. */
  readonly message?: string;
  readonly durationMs: number;
}

export type HealthStatus = 'STARTING' | 'READY' | 'NOT_READY' | 'STOPPING';

export interface HealthReport {
  readonly ready: boolean;
  readonly status: HealthStatus;
  readonly checks: readonly CheckResult[];
}

/** A check that has not answered in this long has failed: a probe must answer well within its own timeout. */
const CHECK_TIMEOUT_MS = 2_000;
/** Probes arriving within this long share one run of the checks, so that many probes cost the store one. */
const REPORT_REUSE_MS = 1_000;

/**
 * Whether this process can do its work: `STARTING` until start-up has finished (with what it
 * waits for), then the result of its checks (database, migrations, Redis, event bus, worker
 * loop), and `STOPPING` once it drains. Being alive is not in here: a process that answers is.
 */
export class ProcessHealth {
  private readonly checks: HealthCheck[] = [];
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private waitingFor = 'starting up';
  private latest: { readonly at: number; readonly report: Promise<HealthReport> } | undefined;

  add(check: HealthCheck): void {
    this.checks.push(check);
  }

  /** What start-up waits for now, shown while STARTING (e.g. "PostgreSQL: ECONNREFUSED, retrying"). */
  starting(what: string): void {
    this.waitingFor = what;
  }

  running(): void {
    this.phase = 'running';
    this.latest = undefined;
  }

  stopping(): void {
    this.phase = 'stopping';
    this.latest = undefined;
  }

  report(): Promise<HealthReport> {
    if (this.phase === 'starting') return Promise.resolve({ ready: false, status: 'STARTING', checks: [{ name: 'startup', ok: false, message: this.waitingFor, durationMs: 0 }] });
    if (this.phase === 'stopping') return Promise.resolve({ ready: false, status: 'STOPPING', checks: [] });
    const now = Date.now();
    if (this.latest === undefined || now - this.latest.at >= REPORT_REUSE_MS) this.latest = { at: now, report: this.runChecks() };
    return this.latest.report;
  }

  private async runChecks(): Promise<HealthReport> {
    const checks = await Promise.all(this.checks.map(runCheck));
    const ready = checks.every((check) => check.ok);
    return { ready, status: ready ? 'READY' : 'NOT_READY', checks };
  }
}

async function runCheck(check: HealthCheck): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.run(), timeout]);
    return { name: check.name, ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { name: check.name, ok: false, message: failureReason(error), durationMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** An error's code where it has one (ECONNREFUSED, 57P01), else its message, cut short. */
export function failureReason(error: unknown): string {
  for (let at: unknown = error, depth = 0; typeof at === 'object' && at !== null && depth < 4; at = (at as { cause?: unknown }).cause, depth++) {
    const { code } = at as { code?: unknown };
    if (typeof code === 'string' && code.length > 0) return code;
  }
  return toError(error).message.slice(0, 200);
}
