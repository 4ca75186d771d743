// The example Bruno collection, made from the committed openapi.json by Bruno's own
// converter (@usebruno/converters). Import collections/bruno.json in Bruno ("Import
// collection" → "Bruno collection"), set `baseUrl` and `token` in its environment.
// test/e2e/openapi-contract.e2e-spec.ts checks the committed file is what this makes;
// `npm run openapi` rewrites both.
import { openApiToBruno } from '@usebruno/converters';

/** Every `uid` in document order. */
function uidsOf(value, found = []) {
  if (Array.isArray(value)) for (const item of value) uidsOf(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, field] of Object.entries(value)) {
      if (key === 'uid' && typeof field === 'string') found.push(field);
      else uidsOf(field, found);
    }
  }
  return found;
}

/**
 * The converter draws random uids (and refers to them, as `itemUid`); numbering them in
 * document order keeps the file the same from one run to the next.
 */
export function brunoCollection(openApiDocument) {
  const collection = openApiToBruno(structuredClone(openApiDocument));
  const numbered = new Map(uidsOf(collection).map((uid, i) => [uid, `nsa${String(i + 1).padStart(18, '0')}`]));
  return JSON.parse(JSON.stringify(collection), (_key, value) => numbered.get(value) ?? value);
}
