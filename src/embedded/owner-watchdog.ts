// Stops the embedded postmaster when the process that owns it dies in a way
// that runs none of its own code (SIGKILL, the OOM killer): a few lines of
// POSIX sh (about 1 MB, where another node process would take 40) that watch
// both pids once a second.
import { spawn } from 'node:child_process';

/**
 * $1 owner pid, $2 postmaster pid, $3 cluster dir: positional arguments, never
 * part of the script text. A zombie counts as dead: an owner killed but not yet
 * reaped by its parent still answers `kill -0`. The comm field in
 * /proc/<pid>/stat may hold any character, so the state is read after the last
 * ") ". Before signalling, the postmaster's cwd must still be the cluster dir,
 * so that a reused pid is never hit.
 */
const WATCHDOG_SCRIPT = `
owner=$1 pg=$2
dir=$(cd "$3" 2>/dev/null && pwd -P) || exit 0
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/stat" ] || return 0
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  case \${stat##*') '} in Z*) return 1 ;; esac
  return 0
}
while alive "$owner" && alive "$pg"; do sleep 1; done
alive "$pg" || exit 0
if [ -d /proc/self ]; then
  [ "$(readlink "/proc/$pg/cwd" 2>/dev/null)" = "$dir" ] || exit 0
fi
kill -INT "$pg" 2>/dev/null || exit 0
waited=0
while [ "$waited" -lt 30 ] && alive "$pg"; do sleep 1; waited=$((waited + 1)); done
if alive "$pg"; then kill -QUIT "$pg" 2>/dev/null; fi
exit 0
`;

/** The script's $0: `ps` shows `sh -c <script> jobql-postgres-watchdog <owner> <postmaster> <dir>`. */
export const WATCHDOG_NAME = 'jobql-postgres-watchdog';

/**
 * Starts the watchdog for `postmasterPid` serving `clusterDir`: once `ownerPid`
 * is gone while the postmaster still runs, it asks for a fast shutdown (SIGINT),
 * then an immediate one (SIGQUIT) after 30 s. When the postmaster exits first,
 * as after a normal stop by its owner, the watchdog just exits.
 */
export function startOwnerWatchdog(
  ownerPid: number,
  postmasterPid: number,
  clusterDir: string,
  log: (message: string) => void,
): void {
  if (process.platform === 'win32') return; // no sh; the next start clears a leftover server
  // detached: its own session, so Ctrl-C in the terminal reaches only node, which
  // stops the database itself. cwd '/': it must not keep any folder busy.
  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, WATCHDOG_NAME, String(ownerPid), String(postmasterPid), clusterDir], {
    stdio: 'ignore',
    detached: true,
    cwd: '/',
  });
  watchdog.once('error', (error) => log(`could not start the PostgreSQL watchdog (${error.message}); a kill -9 of this process would leave PostgreSQL running`));
  watchdog.unref();
}
