import type { IForbiddenRuleType } from 'dependency-cruiser';

/**
 * The layers of DESIGN.md ("Layers"), each knowing only those below it:
 *
 *   domain, errors, pg (the connection), migrations,     imports nothing of ours
 *   telemetry (the OpenTelemetry spans)
 *   adapters/queue-adapter.ts, adapters/event-bus.ts      the contracts: the domain only
 *   adapters/<backend>/ (and adapters/bus/, shared)       the contracts, the domain, pg, its own folder
 *   src/store, src/tasks                                  the contracts, the domain, pg, migrations
 *   src/service, src/worker                               the store, the tasks, the contracts (not each other)
 *   src/access                                            the store and the domain: keys, tokens, principals
 *   schema/                                               the service and access (through their index.ts), the domain
 *   src/server                                            the schema, the service and access
 *   src/runtime, src/embedded, the entry points           anything: they wire the rest together
 *
 * and no import cycle anywhere. tests/architecture/layers.test.ts holds the code to them.
 */

const OURS = '^(src|adapters|schema|migrations)/';
const BACKENDS = '^adapters/(bus|memory|postgres|redis)/';
const ABOVE_THE_STORE = '^(src/(service|worker|access|server|runtime|embedded)|schema)/|^src/[^/]+[.]ts$';

const pure = (name: string, folder: string): IForbiddenRuleType => ({
  name,
  comment: `${folder} imports nothing of ours outside it`,
  severity: 'error',
  from: { path: `^${folder}/` },
  to: { path: OURS, pathNot: `^${folder}/` },
});

export const LAYER_RULES: IForbiddenRuleType[] = [
  { name: 'no-cycle', comment: 'no module imports itself through others', severity: 'error', from: {}, to: { circular: true } },
  pure('domain-is-pure', 'src/domain'),
  pure('errors-are-pure', 'src/errors'),
  pure('pg-is-the-connection-only', 'src/pg'),
  pure('telemetry-is-pure', 'src/telemetry'),
  pure('migrations-are-frozen', 'migrations'),
  {
    name: 'contracts-know-the-domain-only',
    severity: 'error',
    from: { path: '^adapters/[^/]+[.]ts$' },
    to: { path: OURS, pathNot: '^(src/(domain|errors)/|adapters/[^/]+[.]ts$)' },
  },
  {
    name: 'a-backend-keeps-to-its-folder',
    comment: 'a backend uses the contracts and adapters/bus, never another backend',
    severity: 'error',
    from: { path: '^adapters/(memory|postgres|redis)/' },
    to: { path: '^adapters/(memory|postgres|redis)/', pathNot: '^adapters/$1/' },
  },
  {
    name: 'backends-are-below-the-store',
    severity: 'error',
    from: { path: '^adapters/' },
    to: { path: '^(src/(store|tasks)|schema)/', pathNot: '^src/(domain|errors|pg)/' },
  },
  {
    name: 'backends-are-below-everything-above',
    severity: 'error',
    from: { path: '^adapters/' },
    to: { path: ABOVE_THE_STORE },
  },
  {
    name: 'the-store-is-below-the-service',
    comment: 'the store knows the contracts, never a backend, the service or the worker',
    severity: 'error',
    from: { path: '^src/(store|tasks)/' },
    to: { path: `${ABOVE_THE_STORE}|${BACKENDS}` },
  },
  {
    name: 'tasks-know-no-store',
    severity: 'error',
    from: { path: '^src/tasks/' },
    to: { path: '^src/store/' },
  },
  {
    name: 'service-and-worker-know-contracts-not-backends',
    severity: 'error',
    from: { path: '^src/(service|worker)/' },
    to: { path: `^(schema|src/(server|runtime|embedded|access))/|${BACKENDS}` },
  },
  {
    name: 'access-knows-the-store-not-the-rest',
    severity: 'error',
    from: { path: '^src/access/' },
    to: { path: `^(schema|src/(service|worker|tasks|server|runtime|embedded))/|${BACKENDS}` },
  },
  { name: 'the-service-is-not-the-worker', severity: 'error', from: { path: '^src/service/' }, to: { path: '^src/worker/' } },
  { name: 'the-worker-is-not-the-service', severity: 'error', from: { path: '^src/worker/' }, to: { path: '^src/service/' } },
  {
    name: 'the-schema-goes-through-the-service',
    comment: 'resolvers and loaders call the service and access only, through their index',
    severity: 'error',
    from: { path: '^schema/' },
    to: { path: '^(src/(store|worker|server|runtime|embedded|pg|tasks)|adapters)/|^src/(service|access)/(?!index[.]ts$)|^src/[^/]+[.]ts$' },
  },
  {
    name: 'the-server-serves-the-schema',
    severity: 'error',
    from: { path: '^src/server/' },
    to: { path: `^src/(store|worker|runtime|embedded|tasks)/|${BACKENDS}` },
  },
];
