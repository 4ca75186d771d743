/**
 * `compute()` for this request, worked out on the first call and kept on the request under
 * `key` (a symbol its caller's module keeps to itself, so nothing a client sends can set it).
 * For what several parts of the pipeline ask of one request, and costs something each time.
 */
export function oncePerRequest<T>(request: object, key: symbol, compute: () => T): T {
  const held = request as Record<symbol, T>;
  if (!(key in held)) held[key] = compute();
  return held[key] as T;
}
