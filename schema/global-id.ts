import { decodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from '../src/errors/index.js';

/**
 * The raw id inside a global ID of the expected type. Mutations decode IDs themselves, so a
 * malformed ID or one of another type comes back as a typed ValidationError, not a GraphQL error.
 */
export function parseGlobalId(globalId: string, expectedType: string, path = 'id'): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    throw ValidationError.field(path, `"${globalId}" is not a valid ${expectedType} ID`);
  }
  if (decoded.typename !== expectedType || decoded.id.length === 0) {
    throw ValidationError.field(path, `"${globalId}" is not a ${expectedType} ID`);
  }
  return decoded.id;
}
