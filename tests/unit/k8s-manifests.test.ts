import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.js';
import { LIVE_PATH, METRICS_PATH, READY_PATH } from '../../src/server/process-http.js';
import { ProcessMetrics } from '../../src/metrics/process-metrics.js';
import { PROJECT_ROOT } from '../support/jobql-process.js';

const DIR = path.join(PROJECT_ROOT, 'deploy/k8s');

interface Probe {
  readonly httpGet: { readonly path: string; readonly port: string | number };
}
interface Container {
  readonly name: string;
  readonly command: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  readonly ports: readonly { readonly name: string; readonly containerPort: number }[];
  readonly readinessProbe: Probe;
  readonly livenessProbe: Probe;
}
interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly data?: Record<string, string>;
  readonly spec: {
    readonly selector?: { readonly matchLabels?: Record<string, string> } & Record<string, string>;
    readonly ports?: readonly { readonly targetPort: string | number }[];
    readonly scaleTargetRef?: { readonly kind: string; readonly name: string };
    readonly metrics?: readonly { readonly external: { readonly metric: { readonly name: string; readonly selector: { readonly matchLabels: Record<string, string> } } } }[];
    readonly template?: {
      readonly metadata: { readonly labels: Record<string, string>; readonly annotations?: Record<string, string> };
      readonly spec: { readonly terminationGracePeriodSeconds: number; readonly containers: readonly Container[] };
    };
  };
}

const manifests: Manifest[] = readdirSync(DIR)
  .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((document) => {
      expect(document.errors, file).toEqual([]);
      return document.toJS() as Manifest;
    }),
  );
const deployments = manifests.filter((m) => m.kind === 'Deployment');
const config = manifests.find((m) => m.kind === 'ConfigMap')?.data ?? {};
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the Kubernetes manifests', () => {
  it('list every file in the kustomization, and each parses', () => {
    const listed = (parseAllDocuments(readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources: string[] }).resources;
    expect(listed.sort()).toEqual(readdirSync(DIR).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml').sort());
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['jobql-api', 'jobql-worker']);
  });

  it.each(deployments.map((d) => [d.metadata.name, d] as const))('%s: runs a built entry point whose probes are the paths and the port the process serves', (_name, deployment) => {
    const template = deployment.spec.template!;
    for (const container of template.spec.containers) {
      const entry = container.command.find((arg) => arg.startsWith('dist/'));
      expect(entry, 'a built entry point').toBeDefined();
      expect(existsSync(path.join(PROJECT_ROOT, entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).toBe(true);
      expect(container.livenessProbe.httpGet.path).toBe(LIVE_PATH);
      expect(container.readinessProbe.httpGet.path).toBe(READY_PATH);
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      // The settings must pass the process's own configuration check.
      const parsed = configSchema.parse({ ...config, ...env, DATABASE_URL: 'postgres://db/jobql' });
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        const port = container.ports.find((p) => p.name === probe.httpGet.port || p.containerPort === probe.httpGet.port);
        expect(port, `probe port ${probe.httpGet.port}`).toBeDefined();
        expect(port?.containerPort).toBe(parsed.PORT);
      }
      expect(template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(parsed.SHUTDOWN_GRACE_MS + parsed.ABORT_GRACE_MS);
    }
  });

  it('select pods that exist: the Service and both disruption budgets', () => {
    const others = manifests.filter((m) => m.kind === 'Service' || m.kind === 'PodDisruptionBudget');
    expect(others).toHaveLength(3);
    for (const manifest of others) {
      const selector = manifest.kind === 'Service' ? (manifest.spec.selector as Record<string, string>) : manifest.spec.selector!.matchLabels!;
      const selected = deployments.filter((d) => matches(selector, d.spec.template!.metadata.labels));
      expect(selected, manifest.metadata.name).toHaveLength(1);
      if (manifest.kind === 'Service') {
        for (const port of manifest.spec.ports ?? []) {
          expect(selected[0]!.spec.template!.spec.containers.some((c) => c.ports.some((p) => p.name === port.targetPort || p.containerPort === port.targetPort))).toBe(true);
        }
      }
    }
  });

  it("scale the workers on a metric the process exports, scraped from the port it serves it on", async () => {
    const autoscaler = manifests.find((m) => m.kind === 'HorizontalPodAutoscaler');
    const target = deployments.find((d) => d.metadata.name === autoscaler?.spec.scaleTargetRef?.name);
    expect(target?.metadata.name).toBe('jobql-worker');
    const metric = autoscaler!.spec.metrics![0]!.external.metric;
    const metrics = new ProcessMetrics();
    metrics.reportQueues(async () => [{ queue: 'default', status: 'QUEUED', tasks: 7, oldestDueAt: null }]);
    const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === metric.name);
    expect(family, metric.name).toBeDefined();
    const sample = family!.values[0];
    expect(Object.keys(sample!.labels).sort()).toEqual(Object.keys(metric.selector.matchLabels).sort());
    const template = target!.spec.template!;
    const container = template.spec.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    const parsed = configSchema.parse({ ...config, ...env, DATABASE_URL: 'postgres://db/jobql' });
    expect(Number(template.metadata.annotations?.['prometheus.io/port'])).toBe(parsed.METRICS_PORT);
    expect(container.ports.some((port) => port.containerPort === parsed.METRICS_PORT)).toBe(true);
    expect(template.metadata.annotations?.['prometheus.io/path']).toBe(METRICS_PATH);
  });
});
