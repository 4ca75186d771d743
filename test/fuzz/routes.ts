/*
 * The routes, as the OpenAPI document of the app under test describes them. Part of the fuzz
 * suite, test/e2e/fuzz.e2e-spec.ts.
 */

export interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  $ref?: string;
}

export interface Route {
  key: string;
  method: string;
  template: string;
  pathParams: string[];
  query: Record<string, Schema>;
  body: Schema | undefined;
}

interface OpenApiParameter {
  in: string;
  name: string;
  schema?: Schema;
}

interface OpenApiOperation {
  parameters?: OpenApiParameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema> };
}

export function routesOf(document: OpenApiDocument): Route[] {
  const deref = (schema: Schema): Schema => {
    const resolved = schema.$ref ? document.components.schemas[schema.$ref.split('/').pop() as string] : schema;
    if (!resolved) throw new Error(`unresolved ${schema.$ref}`);
    return {
      ...resolved,
      ...(resolved.items ? { items: deref(resolved.items) } : {}),
      ...(resolved.properties
        ? { properties: Object.fromEntries(Object.entries(resolved.properties).map(([k, s]) => [k, deref(s)])) }
        : {}),
    };
  };
  return Object.entries(document.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([method, operation]) => {
      const parameters = operation.parameters ?? [];
      const json = operation.requestBody?.content['application/json'];
      return {
        key: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: Object.fromEntries(parameters.filter((p) => p.in === 'query').map((p) => [p.name, p.schema ?? {}])),
        body: json ? deref(json.schema) : undefined,
      };
    }),
  );
}
