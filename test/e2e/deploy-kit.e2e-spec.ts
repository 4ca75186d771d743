import { describe, expect, it } from 'vitest';
import { buildKustomization } from '../../scripts/check-deploy.mjs';
import { FILE_SECRETS } from '../../src/config/app-config.js';

interface Container {
  command?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
}
interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec: Record<string, unknown>;
}

/** Secrets a deployment may leave out (no alert webhook); every other one is mounted. */
// Optional features: alerts (URL and signing secret), and a migration role of its own.
const OPTIONAL_SECRETS = new Set<string>(['ALERT_WEBHOOK_URL', 'ALERT_WEBHOOK_SECRET', 'DATABASE_MIGRATION_URL']);

/**
 * What the Kubernetes base must say, on the manifests kustomize renders (`npm run
 * deploy:check` validates them against the Kubernetes schema in CI).
 */
describe('the Kubernetes deploy kit (deploy/kubernetes)', () => {
  const objects = buildKustomization() as unknown as K8sObject[];
  const one = (kind: string) => {
    const found = objects.filter((object) => object.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0] as K8sObject;
  };
  const podOf = (object: K8sObject) => (object.spec.template as { spec: PodSpec }).spec;
  const deployment = one('Deployment');
  const job = one('Job');
  const config = one('ConfigMap');

  it('should probe liveness and readiness, and wait for the drain before SIGKILL', () => {
    const pod = podOf(deployment);
    const [server] = pod.containers;
    expect(server?.livenessProbe?.httpGet?.path).toBe('/health/live');
    expect(server?.readinessProbe?.httpGet?.path).toBe('/health/ready');
    const grace = /^(\d+)s$/.exec(config.data?.SHUTDOWN_GRACE ?? '')?.[1];
    expect(grace).toBeDefined();
    // SHUTDOWN_GRACE of 503 readiness, then requests in flight (a statement may run 10 s) and the audit drain.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(grace) + 20);
  });

  it('should give every secret as a file, in the server and the migration job, and none as a value', () => {
    const expected = [...FILE_SECRETS.filter((name) => !OPTIONAL_SECRETS.has(name)), 'JWT_KEYS'].map(
      (name) => `${name}_FILE`,
    );
    for (const workload of [deployment, job]) {
      const env = podOf(workload).containers.flatMap((container) => container.env ?? []);
      expect(env.map((variable) => variable.name)).toEqual(expect.arrayContaining(expected));
      for (const variable of env) expect(FILE_SECRETS as readonly string[]).not.toContain(variable.name);
    }
    for (const name of Object.keys(config.data ?? {})) {
      expect([...FILE_SECRETS, 'JWT_KEYS'] as string[]).not.toContain(name);
    }
  });

  it('should run as non-root on a read-only root filesystem, without privileges', () => {
    for (const workload of [deployment, job]) {
      const pod = podOf(workload);
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      for (const container of pod.containers) {
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });

  it('should migrate in a Job, keep pods up through disruptions and scale the Deployment', () => {
    expect(podOf(job).containers[0]?.command).toEqual(['node', 'dist/db/run-migrations.js']);
    expect(config.data?.DB_MIGRATIONS_RUN).toBe('false');
    const podLabels = (deployment.spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
    const budget = one('PodDisruptionBudget').spec as { selector: { matchLabels: Record<string, string> } };
    expect(podLabels).toMatchObject(budget.selector.matchLabels);
    const target = one('HorizontalPodAutoscaler').spec as { scaleTargetRef: { kind: string; name: string } };
    expect(target.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
  });
});
