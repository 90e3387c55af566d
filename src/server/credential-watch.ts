import type { AccessService, Principal } from '../access/index.js';

/**
 * Checks again, every `intervalMs`, the credential each open connection was authenticated with,
 * and ends the connections whose key has been revoked or whose token has expired. The open
 * principal never changes and is not watched.
 */
export class CredentialWatch<Connection> {
  private readonly watched = new Map<Connection, Principal>();
  private readonly timer: NodeJS.Timeout;
  private checking = false;

  constructor(
    private readonly access: AccessService,
    intervalMs: number,
    private readonly end: (connection: Connection) => void,
  ) {
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  add(connection: Connection, principal: Principal): void {
    if (principal.credential.kind !== 'open') this.watched.set(connection, principal);
  }

  remove(connection: Connection): void {
    this.watched.delete(connection);
  }

  stop(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = new Date();
      for (const [connection, principal] of [...this.watched]) {
        // A lookup that fails (the database away) keeps the connection: it is tried again next time.
        const valid = await this.access.stillValid(principal, now).catch(() => true);
        if (!valid && this.watched.delete(connection)) this.end(connection);
      }
    } finally {
      this.checking = false;
    }
  }
}
