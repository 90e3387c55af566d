/**
 * What a key or token lets its holder do. `admin` implies every other scope (and the operator
 * operations that need it alone).
 */
export const SCOPES = ['read', 'submit', 'retry', 'cancel', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(name: string): name is Scope {
  return (SCOPES as readonly string[]).includes(name);
}

/** The scopes a holder of `scopes` has: those, and all of them with `admin`. */
export function grantedScopes(scopes: Iterable<Scope>): ReadonlySet<Scope> {
  const granted = new Set(scopes);
  return granted.has('admin') ? new Set(SCOPES) : granted;
}

/**
 * A comma- or space-separated list of scope names (as a CLI flag or a JWT `scope` claim gives
 * them), or an array of them; names that are not scopes are in `unknown`.
 */
export function parseScopes(value: string | readonly unknown[]): { readonly scopes: Scope[]; readonly unknown: string[] } {
  const names = typeof value === 'string' ? value.split(/[\s,]+/) : value.filter((item): item is string => typeof item === 'string');
  const scopes: Scope[] = [];
  const unknown: string[] = [];
  for (const name of names.map((item) => item.trim()).filter((item) => item.length > 0)) {
    if (isScope(name)) {
      if (!scopes.includes(name)) scopes.push(name);
    } else unknown.push(name);
  }
  return { scopes, unknown };
}
