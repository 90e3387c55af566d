import { describe, expect, it } from 'vitest';
import { deliveryChannel, eventBusChannel } from '../../src/runtime/deployment-channels.js';

describe('deployment channels', () => {
  it('names channels after the schema, or public', () => {
    expect(deliveryChannel('tenant_a')).toBe('jobql_deliveries_tenant_a');
    expect(deliveryChannel(undefined)).toBe('jobql_deliveries_public');
    expect(eventBusChannel('tenant_a')).toBe('jobql_bus_tenant_a');
  });

  it('keeps two schemas apart', () => {
    expect(deliveryChannel('a')).not.toBe(deliveryChannel('b'));
    expect(eventBusChannel('a')).not.toBe(eventBusChannel('b'));
  });

  it('hashes a schema too long for a 63-byte channel name, keeping names distinct', () => {
    const long = 's'.repeat(63);
    const other = `${'s'.repeat(62)}t`;
    for (const name of [deliveryChannel(long), deliveryChannel(other)]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    // The bus appends ":events" / ":cancel" and must still fit.
    expect(Buffer.byteLength(`${eventBusChannel(long)}:events`)).toBeLessThanOrEqual(63);
    expect(deliveryChannel(long)).not.toBe(deliveryChannel(other));
  });
});
