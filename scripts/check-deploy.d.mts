/** The rendered manifests of a kustomize base (check-deploy.mjs). */
export function buildKustomization(dir?: string): Record<string, unknown>[];
