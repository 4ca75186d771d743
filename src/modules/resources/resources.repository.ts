import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository, WhereExpressionBuilder } from 'typeorm';
import { newestFirstSql, type Keyset } from '../../db/keyset.js';
import { PreparedStatement, PreparedStatementFamily } from '../../db/prepared-statement.js';
import type { ResourceScope } from './resource-policy.js';
import { Resource, type ResourceRow, type Visibility } from './resource.entity.js';

export interface ResourceFilters {
  visibility?: Visibility;
  /** Name contains this text; LIKE wildcards in it match literally. */
  q?: string;
}

export interface ResourceChanges {
  name?: string;
  description?: string;
  visibility?: Visibility;
}

/** `%`, `_` and `\` typed by a user are text to find, not patterns. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Every query here is scoped: what the caller may not reach is never read. */
@Injectable()
export class ResourcesRepository {
  constructor(@InjectRepository(Resource) private readonly resources: Repository<Resource>) {}

  /**
   * The API's hottest read (every GET /resources/:id), written as SQL: the query builder's
   * SQL building and hydration cost twice what the pg driver does for this one row (measured
   * with --cpu-prof); and prepared, one statement per kind of scope, under the same rule as
   * every other query's (`scopeCondition`).
   */
  async findInScope(scope: ResourceScope, id: string): Promise<ResourceRow | null> {
    const rows = await IN_SCOPE_READS[scope.kind].rows(
      this.resources.manager.connection,
      'ownerId' in scope ? [id, scope.ownerId] : [id],
    );
    return rows[0] ?? null;
  }

  /**
   * Up to `limit` resources after `after`, newest first: SQL written out and prepared, one
   * statement per combination of scope and filters (a few dozen at most: values are always
   * parameters), for the same reasons as `findInScope`.
   */
  list(scope: ResourceScope, filters: ResourceFilters, limit: number, after?: Keyset): Promise<ResourceRow[]> {
    const values: unknown[] = [];
    const param = (value: unknown): string => `$${values.push(value)}`;
    const conditions = [scopeCondition(scope.kind, 'ownerId' in scope ? param(scope.ownerId) : '')];
    if (filters.visibility) conditions.push(`visibility = ${param(filters.visibility)}`);
    if (filters.q) conditions.push(`name ILIKE ${param(`%${escapeLike(filters.q)}%`)} ESCAPE '\\'`);
    const page = newestFirstSql(['created_at', 'id'], limit, after, param);
    if (page.condition) conditions.push(page.condition);
    const text = `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${conditions.join(' AND ')} ${page.orderAndLimit}`;
    return LIST.for(text).rows(this.resources.manager.connection, values);
  }

  /**
   * One prepared INSERT ... RETURNING, atomic by itself: the repository's `save` would wrap it
   * in a transaction, two more round trips for every POST /resources.
   */
  async insert(resource: Pick<Resource, 'ownerId' | 'name' | 'description' | 'visibility'>): Promise<ResourceRow> {
    const [created] = await INSERT.rows(this.resources.manager.connection, [
      resource.ownerId,
      resource.name,
      resource.description,
      resource.visibility,
    ]);
    return created!;
  }

  /**
   * Applies the changes if the resource is in scope and (when given) still at
   * `expectedVersion`, in one statement; returns whether a row changed.
   */
  async updateInScope(
    scope: ResourceScope,
    id: string,
    changes: ResourceChanges,
    expectedVersion?: number,
  ): Promise<boolean> {
    const update = this.resources
      .createQueryBuilder()
      .update(Resource)
      .set({ ...changes, version: () => 'version + 1', updatedAt: () => "date_trunc('milliseconds', now())" })
      .where('id = :id', { id });
    applyScope(update, scope);
    if (expectedVersion !== undefined) update.andWhere('version = :expectedVersion', { expectedVersion });
    return ((await update.execute()).affected ?? 0) === 1;
  }

  async deleteInScope(scope: ResourceScope, id: string): Promise<boolean> {
    const remove = this.resources.createQueryBuilder().delete().from(Resource).where('id = :id', { id });
    applyScope(remove, scope);
    return ((await remove.execute()).affected ?? 0) === 1;
  }
}

/** `column` (a timestamptz) as `Date#toISOString` writes it: `0001-01-01T00:00:00.000Z`. */
const isoText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A resource's columns under its property names (a `ResourceRow`), for the statements written as SQL. */
const RESOURCE_COLUMNS =
  'id AS id, owner_id AS "ownerId", name AS name, description AS description, visibility AS visibility, ' +
  `${isoText('created_at')} AS "createdAt", ${isoText('updated_at')} AS "updatedAt", version AS version`;

/** The scope as a SQL condition; `owner` is the placeholder of the scope's owner id. */
function scopeCondition(kind: ResourceScope['kind'], owner: string): string {
  switch (kind) {
    case 'all':
      return 'TRUE';
    case 'public':
      return `visibility = 'public'`;
    case 'public-or-owned':
      return `(visibility = 'public' OR owner_id = ${owner})`;
    case 'owned':
      return `owner_id = ${owner}`;
    case 'none':
      return 'FALSE';
  }
}

const SCOPE_KINDS: readonly ResourceScope['kind'][] = ['all', 'public', 'public-or-owned', 'owned', 'none'];

/** `findInScope`'s statement for each kind of scope: $1 the id, $2 the owner where the scope has one. */
const IN_SCOPE_READS = Object.fromEntries(
  SCOPE_KINDS.map((kind) => [
    kind,
    new PreparedStatement<ResourceRow>(
      `resource-in-scope-${kind}`,
      `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE id = $1 AND ${scopeCondition(kind, '$2')}`,
    ),
  ]),
) as Record<ResourceScope['kind'], PreparedStatement<ResourceRow>>;

const INSERT = new PreparedStatement<ResourceRow>(
  'resource-insert',
  `INSERT INTO resources (owner_id, name, description, visibility) VALUES ($1, $2, $3, $4) RETURNING ${RESOURCE_COLUMNS}`,
);

/** The list's statements, one per shape of query `list` can write. */
const LIST = new PreparedStatementFamily<ResourceRow>('resource-list');

function applyScope(query: WhereExpressionBuilder, scope: ResourceScope): void {
  query.andWhere(scopeCondition(scope.kind, ':scopeOwner'), 'ownerId' in scope ? { scopeOwner: scope.ownerId } : {});
}
