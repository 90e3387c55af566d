import { createHash } from 'node:crypto';
import { MAX_CHANNEL_BYTES } from '../../adapters/postgres/notification-listener.js';

/** Room the event bus needs after its base name (`:events`, `:cancel`). */
const BUS_SUFFIX_BYTES = 7;

/**
 * A channel name of one deployment (one database schema): NOTIFY and Redis pub/sub are shared by
 * every schema of a server, so each deployment talks on names of its own. A schema too long to
 * fit is replaced by a hash of it.
 */
function deploymentChannel(purpose: string, schema: string | undefined, reserveBytes = 0): string {
  const name = `jobql_${purpose}_${schema ?? 'public'}`;
  if (Buffer.byteLength(name) + reserveBytes <= MAX_CHANNEL_BYTES) return name;
  return `jobql_${purpose}_${createHash('sha256').update(schema ?? '').digest('hex').slice(0, 24)}`;
}

export function eventBusChannel(schema: string | undefined): string {
  return deploymentChannel('bus', schema, BUS_SUFFIX_BYTES);
}

export function deliveryChannel(schema: string | undefined): string {
  return deploymentChannel('deliveries', schema);
}
