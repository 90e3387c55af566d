import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';

/** One request of the fuzz run: a document with its variables, or a raw body for what JSON cannot say. */
export interface FuzzCase {
  readonly kind: 'valid' | 'mutated' | 'broken' | 'class';
  readonly label: string;
  /** Sent over graphql-ws instead of HTTP (subscriptions). */
  readonly overWebSocket?: boolean;
  readonly body: string;
  readonly method?: 'GET' | 'POST';
  /** For GET: the query string. */
  readonly search?: string;
}

/** Strings that have found bugs in servers: empty, huge, control bytes, lone surrogates, SQL and JSON look-alikes. */
const HOSTILE_STRINGS = [
  '',
  ' ',
  'x'.repeat(5_000),
  'nul\u0000byte',
  'lone\ud800surrogate',
  "'; drop table jobs; --",
  '%s%n%x',
  '{"a":1}',
  '\\u0000',
  '../../../../etc/passwd',
  'ﾟ･✿ヾ╲(｡◕‿◕｡)╱✿･ﾟ',
  'a'.repeat(300),
  'x',
  'NaN',
  '-1',
  '99999999999',
  '9223372036854775808',
];
const HOSTILE_INTS = [0, 1, -1, 2, 10, 100, 500, 501, 2 ** 31 - 1, -(2 ** 31), 7];

export interface FuzzIds {
  /** Real global ids of the caller's jobs, tasks and events. */
  readonly own: readonly string[];
}

/**
 * Documents generated from the schema: a root field with arguments of the declared types (as
 * literals or variables), a selection of its fields a few levels deep with inline fragments on
 * unions and interfaces, and JSON and strings drawn from the hostile lists.
 */
export class DocumentGenerator {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly random: () => number,
    private readonly ids: FuzzIds,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  operation(): { operation: 'query' | 'mutation' | 'subscription'; document: string; variables: Record<string, unknown> } {
    const roll = this.random();
    const operation = roll < 0.6 ? 'query' : roll < 0.9 ? 'mutation' : 'subscription';
    const root = (operation === 'query' ? this.schema.getQueryType() : operation === 'mutation' ? this.schema.getMutationType() : this.schema.getSubscriptionType()) as GraphQLObjectType;
    const variables: Record<string, unknown> = {};
    const declarations: string[] = [];
    const fields = Object.values(root.getFields());
    const count = operation === 'query' ? 1 + Math.floor(this.random() * 3) : 1;
    const selections: string[] = [];
    for (let n = 0; n < count; n++) {
      const field = this.pick(fields);
      const alias = n > 0 ? `f${n}: ` : '';
      // A submission's answer is fixed: the test tells the rows of successful ones by it, and a
      // selection that fails after the job was written would hide one.
      const selection = field.name === 'submitJob' ? '{ __typename ... on SubmitJobSuccess { job { id } } ... on Error { code message } }' : this.selection(field.type, 0);
      selections.push(`${alias}${field.name}${this.args(field.args, variables, declarations)}${selection}`);
    }
    const header = declarations.length > 0 ? `(${declarations.join(', ')})` : '';
    return { operation, document: `${operation} Fuzz${header} { ${selections.join(' ')} }`, variables };
  }

  private args(args: readonly GraphQLArgument[], variables: Record<string, unknown>, declarations: string[]): string {
    const given: string[] = [];
    for (const arg of args) {
      if (!isNonNullType(arg.type) && !this.chance(0.4)) continue;
      if (this.chance(0.5)) {
        const name = `v${declarations.length}`;
        declarations.push(`$${name}: ${String(arg.type)}`);
        variables[name] = this.value(arg.type, 0);
        given.push(`${arg.name}: $${name}`);
      } else {
        given.push(`${arg.name}: ${literal(this.value(arg.type, 0), getNamedType(arg.type))}`);
      }
    }
    return given.length > 0 ? `(${given.join(', ')})` : '';
  }

  private value(type: GraphQLInputType, depth: number): unknown {
    if (isNonNullType(type)) return this.value(type.ofType, depth);
    if (this.chance(0.05)) return null;
    if (isListType(type)) return Array.from({ length: Math.floor(this.random() * 4) }, () => this.value(type.ofType, depth + 1));
    if (isEnumType(type)) return this.pick(type.getValues()).name;
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        if (isNonNullType(field.type) || (depth < 3 && this.chance(0.4))) out[field.name] = this.value(field.type, depth + 1);
      }
      if (type.name === 'TaskInput' && this.chance(0.7)) out['type'] = this.pick(['demo.echo', 'demo.sleep', 'demo.fail', 'no.such.type']);
      // Some submissions that can succeed, so that what they write is told apart from what refused ones must not.
      if (type.name === 'SubmitJobInput' && this.chance(0.3)) return { name: 'fuzz', tasks: [{ type: 'demo.echo', payload: this.json(0), delayMs: 3_600_000 }] };
      return out;
    }
    switch (type.name) {
      case 'ID':
        return this.chance(0.6) && this.ids.own.length > 0 ? this.pick(this.ids.own) : this.pick([...HOSTILE_STRINGS, 'Sm9iOjE=', 'VGFzazox', 'Sm9iOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA==']);
      case 'Int':
        return this.pick(HOSTILE_INTS);
      case 'Float':
        return this.pick([0, 0.5, 1, -1, 1e308]);
      case 'Boolean':
        return this.chance(0.5);
      case 'DateTime':
        return this.pick(['2026-01-01T00:00:00Z', new Date(Date.now() + 60_000).toISOString(), 'yesterday', '']);
      case 'JSON':
        return this.json(0);
      default:
        return this.pick(HOSTILE_STRINGS);
    }
  }

  private json(depth: number): unknown {
    const roll = this.random();
    if (depth > 3 || roll < 0.3) return this.pick<unknown>([1, 'text', true, null, ...HOSTILE_STRINGS.slice(0, 6)]);
    if (roll < 0.6) return Array.from({ length: Math.floor(this.random() * 3) }, () => this.json(depth + 1));
    return Object.fromEntries(Array.from({ length: 1 + Math.floor(this.random() * 3) }, (_, n) => [this.pick(['ms', 'a', `k${n}`, 'nul\u0000key']), this.json(depth + 1)]));
  }

  private selection(type: GraphQLNamedType | GraphQLInputType | GraphQLField<unknown, unknown>['type'], depth: number): string {
    const named = getNamedType(getNullableType(type));
    if (isScalarType(named) || isEnumType(named)) return '';
    if (isUnionType(named)) {
      const members = named.getTypes();
      const fragments = members.filter(() => this.chance(0.5)).map((member) => `... on ${member.name} ${this.objectSelection(member, depth + 1)}`);
      return `{ __typename ${fragments.join(' ')} }`;
    }
    if (isInterfaceType(named) || isObjectType(named)) return this.objectSelection(named, depth);
    return '';
  }

  private objectSelection(type: GraphQLObjectType | Extract<GraphQLNamedType, { getFields: unknown }>, depth: number): string {
    if (!('getFields' in type) || isInputObjectType(type)) return '{ __typename }';
    const fields = Object.values(type.getFields());
    const chosen = fields.filter((field) => {
      const leaf = isScalarType(getNamedType(field.type)) || isEnumType(getNamedType(field.type));
      return leaf ? this.chance(0.5) : depth < 4 && this.chance(0.3);
    });
    const parts = chosen.map((field) => {
      const args = field.args.filter((arg) => isNonNullType(arg.type) || this.chance(0.5)).map((arg) => `${arg.name}: ${literal(this.value(arg.type, 0), getNamedType(arg.type))}`);
      return `${field.name}${args.length ? `(${args.join(', ')})` : ''}${this.selection(field.type, depth + 1)}`;
    });
    return `{ __typename ${parts.join(' ')} }`;
  }

  /** A valid-looking document taken apart: a cut, a stray character, a renamed field, a doubled token. */
  mutate(document: string): string {
    const at = Math.floor(this.random() * document.length);
    switch (Math.floor(this.random() * 5)) {
      case 0:
        return document.slice(0, at);
      case 1:
        return document.slice(0, at) + this.pick(['{', '}', '(', ')', '$', '"', ':', '...', '@skip', '#', '\\', '\u0000']) + document.slice(at);
      case 2:
        return document.replace(/\b(id|status|tasks|job|name)\b/, this.pick(['idd', 'password', '__schema', 'constructor', '__proto__']));
      case 3: {
        const words = document.split(' ');
        const n = Math.floor(this.random() * words.length);
        words.splice(n, 0, words[n] ?? '');
        return words.join(' ');
      }
      default:
        return document.slice(0, at) + document.slice(at + 1 + Math.floor(this.random() * 10));
    }
  }

  /** Bytes that are not a GraphQL request at all. */
  broken(): string {
    return this.pick([
      '',
      '{',
      'null',
      '[]',
      '"query"',
      '{"query": 1}',
      '{"query": null}',
      '{"query": "{ __typename }", "variables": "x"}',
      '{"query": "{ __typename }", "variables": [1]}',
      '{"query": "{ __typename }", "operationName": 5}',
      '{"query": "{ __typename }", "extensions": "x"}',
      String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(this.random() * 256))),
      '{"query": "\\ud800"}',
      `{"query": "{ __typename }", "variables": ${'['.repeat(5_000)}${']'.repeat(5_000)}}`,
    ]);
  }
}

/** A value as a GraphQL literal of its type (enums bare, objects with bare keys). */
export function literal(value: unknown, type: GraphQLNamedType): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, type)).join(', ')}]`;
  if (isEnumType(type) && typeof value === 'string') return value;
  if (typeof value === 'object') {
    const fields = isInputObjectType(type) ? type.getFields() : undefined;
    return `{ ${Object.entries(value)
      .filter(([key]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(key))
      .map(([key, item]) => `${key}: ${literal(item, fields?.[key] ? getNamedType(fields[key].type) : type)}`)
      .join(', ')} }`;
  }
  return JSON.stringify(value);
}
