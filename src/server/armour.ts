import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { Plugin } from 'graphql-yoga';

export interface ArmourLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
  readonly maxCost: number;
}

/**
 * What every operation passes before anything of it runs: graphql-armor's limits on depth,
 * aliases, tokens (checked while parsing, so a huge document is not even parsed whole),
 * directives and cost, each refusal naming its limit; no field suggestions to map the schema
 * with; and CSRF prevention, so that a form or multipart POST a foreign page can send without a
 * preflight runs nothing unless it carries a header such a page cannot set.
 */
export function armourPlugins(limits: ArmourLimits): Plugin[] {
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, flattenFragments: true, exposeLimits: true },
      maxAliases: { n: limits.maxAliases, exposeLimits: true },
      maxTokens: { n: limits.maxTokens, exposeLimits: true },
      maxDirectives: { n: limits.maxDirectives, exposeLimits: true },
      costLimit: { maxCost: limits.maxCost, flattenFragments: true, exposeLimits: true },
      blockFieldSuggestion: { enabled: true },
    }) as Plugin,
    useCSRFPrevention({ requestHeaders: ['x-graphql-csrf', 'apollo-require-preflight', 'x-graphql-yoga-csrf'] }) as Plugin,
  ];
}
