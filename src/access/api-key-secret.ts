import { createHash, randomBytes } from 'node:crypto';

/**
 * An API key is `jobql_k_` and 48 hex digits (192 random bits): recognisable by its prefix (to
 * secret scanners too), too long to guess, and so kept as its SHA-256 only. A slow password hash
 * would add nothing against guessing 192 bits and cost every request.
 */
export const API_KEY_PREFIX = 'jobql_k_';
const SECRET_HEX = 48;
/** What a listing shows of a key: its prefix and the first 6 digits. */
const SHOWN = API_KEY_PREFIX.length + 6;

export function newApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(SECRET_HEX / 2).toString('hex');
}

export function looksLikeApiKey(text: string): boolean {
  return text.startsWith(API_KEY_PREFIX) && text.length === API_KEY_PREFIX.length + SECRET_HEX && /^[0-9a-f]+$/.test(text.slice(API_KEY_PREFIX.length));
}

export function hashApiKeySecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

export function shownPartOf(secret: string): string {
  return secret.slice(0, SHOWN);
}
