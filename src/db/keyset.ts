import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { Keyset } from '../common/http/pagination.js';

export type { Keyset } from '../common/http/pagination.js';

/**
 * A page newest first, from after `after`: the keyset clause and order every list shares.
 * `created` and `id` name the query's columns, e.g. `r.created_at` and `r.id`. The cursor that
 * carries `after` is an HTTP concern (common/http/pagination.ts); this is the SQL.
 */
export function newestFirst<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  [created, id]: [created: string, id: string],
  limit: number,
  after: Keyset | undefined,
): SelectQueryBuilder<T> {
  if (after) {
    query.andWhere(`(${created}, ${id}) < (:createdAt, :afterId)`, { createdAt: after.createdAt, afterId: after.id });
  }
  return query.orderBy(created, 'DESC').addOrderBy(id, 'DESC').limit(limit);
}

/**
 * `newestFirst` for a statement written as SQL: the same keyset condition (absent on the first
 * page) and order, with `param` giving each value its placeholder.
 */
export function newestFirstSql(
  [created, id]: [created: string, id: string],
  limit: number,
  after: Keyset | undefined,
  param: (value: unknown) => string,
): { condition?: string; orderAndLimit: string } {
  return {
    ...(after ? { condition: `(${created}, ${id}) < (${param(after.createdAt)}, ${param(after.id)})` } : {}),
    orderAndLimit: `ORDER BY ${created} DESC, ${id} DESC LIMIT ${param(limit)}`,
  };
}
