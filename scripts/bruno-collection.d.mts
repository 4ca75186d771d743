/** The example Bruno collection made from an OpenAPI document (bruno-collection.mjs). */
export function brunoCollection(openApiDocument: unknown): unknown;
