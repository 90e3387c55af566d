import type { FieldIssue } from '../errors/index.js';

/** How deep objects and arrays may nest in a submission (payloads and metadata included). */
export const MAX_NESTING = 64;
const MAX_ISSUES = 20;
/** A UTF-16 surrogate not in a pair: not Unicode, and PostgreSQL's JSON refuses it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What in a submission PostgreSQL cannot store, or the store should not be asked to: a NUL
 * character or a lone surrogate in any string or key, and nesting deeper than MAX_NESTING. The
 * walk is iterative, so a value nested 100,000 deep costs a loop, not the stack.
 */
export function unstorableIssues(input: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const pending: { readonly value: unknown; readonly path: string; readonly depth: number }[] = [{ value: input, path: '', depth: 0 }];
  const checkText = (text: string, path: string, what: string): void => {
    if (text.includes('\u0000')) issues.push({ path, message: `${what} contains a NUL character, which cannot be stored` });
    else if (LONE_SURROGATE.test(text)) issues.push({ path, message: `${what} contains a lone UTF-16 surrogate, which is not valid Unicode` });
  };
  while (pending.length > 0 && issues.length < MAX_ISSUES) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'string') {
      checkText(value, path, 'the text');
      continue;
    }
    if (typeof value !== 'object' || value === null || value instanceof Date) continue;
    if (depth >= MAX_NESTING) {
      issues.push({ path, message: `nests deeper than ${MAX_NESTING} levels` });
      continue;
    }
    const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
    if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, path: at(String(index)), depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      checkText(key, at(key.slice(0, 40)), 'a key');
      pending.push({ value: item, path: at(key.slice(0, 40)), depth: depth + 1 });
    }
  }
  return issues.slice(0, MAX_ISSUES);
}
