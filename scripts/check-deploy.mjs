// npm run deploy:check (CI): the deploy kit validates against the schemas its tools use.
// - deploy/kubernetes: built with kustomize (`kubectl kustomize`, or a standalone `kustomize`),
//   each object validated against the Kubernetes OpenAPI schema (kubernetes-models).
// - docker-compose.yml: against the current Compose specification (dclint, .dclintrc.yaml).
// test/e2e/deploy-kit.e2e-spec.ts checks what the manifests must say (probes, secrets as files...).
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The rendered manifests of the kustomize base, as kubectl or kustomize prints them. */
export function buildKustomization(dir = 'deploy/kubernetes') {
  /** @type {[string, string[]][]} */
  const tools = [
    ['kubectl', ['kustomize', dir]],
    ['kustomize', ['build', dir]],
  ];
  for (const [command, args] of tools) {
    const result = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
    if (result.error?.code === 'ENOENT') continue;
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
    return parseAllDocuments(result.stdout).map((document) => document.toJS());
  }
  throw new Error('neither kubectl nor kustomize is installed: one of them builds deploy/kubernetes');
}

/** Validates one object with the kubernetes-models class of its apiVersion and kind; throws naming it. */
async function validateObject(object) {
  const module = await import(`kubernetes-models/${object.apiVersion}`).catch(() => undefined);
  const Model = module?.[object.kind];
  if (!Model) throw new Error(`${object.apiVersion} ${object.kind} has no schema: a typo, or a kind this check lacks`);
  new Model(object).validate();
}

async function main() {
  const objects = buildKustomization();
  for (const object of objects) {
    await validateObject(object);
    console.log(`valid: ${object.apiVersion} ${object.kind} ${object.metadata.name}`);
  }
  execFileSync('dclint', ['-c', '.dclintrc.yaml', 'docker-compose.yml'], { cwd: root, stdio: 'inherit' });
  console.log('valid: docker-compose.yml (Compose specification)');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
