import { PothosValidationError } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from '../src/errors/index.js';

/** Longer than any ID the API hands out (about 70 characters), and short enough to decode for nothing. */
const MAX_GLOBAL_ID_LENGTH = 256;

/**
 * Pothos's decoder, refusing an ID longer than MAX_GLOBAL_ID_LENGTH before it is decoded: its
 * base64 check is a regular expression over the whole string, and its error quotes the ID, so a
 * 3 MB ID cost 7 ms of the event loop and came back whole in the error. The builder's relay
 * options and every decode of ours use it.
 */
export function decodeBoundedGlobalID(globalId: string): { typename: string; id: string } {
  if (globalId.length > MAX_GLOBAL_ID_LENGTH) {
    throw new PothosValidationError(`Invalid global ID: longer than ${MAX_GLOBAL_ID_LENGTH} characters`);
  }
  return decodeGlobalID(globalId);
}

/** An ID as an error message may quote it: cut to MAX_GLOBAL_ID_LENGTH. */
function quoted(globalId: string): string {
  return globalId.length > MAX_GLOBAL_ID_LENGTH ? `${globalId.slice(0, MAX_GLOBAL_ID_LENGTH)}…` : globalId;
}

/**
 * The raw id inside a global ID of the expected type. Mutations decode IDs themselves, so a
 * malformed ID or one of another type comes back as a typed ValidationError, not a GraphQL error.
 */
export function parseGlobalId(globalId: string, expectedType: string, path = 'id'): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeBoundedGlobalID(globalId);
  } catch {
    throw ValidationError.field(path, `"${quoted(globalId)}" is not a valid ${expectedType} ID`);
  }
  if (decoded.typename !== expectedType || decoded.id.length === 0) {
    throw ValidationError.field(path, `"${quoted(globalId)}" is not a ${expectedType} ID`);
  }
  return decoded.id;
}
