import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository, SelectQueryBuilder, WhereExpressionBuilder } from 'typeorm';
import { newestFirst, type Keyset } from '../../db/keyset.js';
import type { ResourceScope } from './resource-policy.js';
import { Resource, type Visibility } from './resource.entity.js';

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

  findInScope(scope: ResourceScope, id: string): Promise<Resource | null> {
    return this.scoped(scope).andWhere('r.id = :id', { id }).getOne();
  }

  /** Up to `limit` resources after `after`, newest first. */
  list(scope: ResourceScope, filters: ResourceFilters, limit: number, after?: Keyset): Promise<Resource[]> {
    const query = this.scoped(scope);
    if (filters.visibility) query.andWhere('r.visibility = :visibility', { visibility: filters.visibility });
    if (filters.q) query.andWhere(`r.name ILIKE :pattern ESCAPE '\\'`, { pattern: `%${escapeLike(filters.q)}%` });
    return newestFirst(query, ['r.created_at', 'r.id'], limit, after).getMany();
  }

  insert(resource: Pick<Resource, 'ownerId' | 'name' | 'description' | 'visibility'>): Promise<Resource> {
    return this.resources.save(this.resources.create(resource));
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
    applyScope(update, scope, '');
    if (expectedVersion !== undefined) update.andWhere('version = :expectedVersion', { expectedVersion });
    return ((await update.execute()).affected ?? 0) === 1;
  }

  async deleteInScope(scope: ResourceScope, id: string): Promise<boolean> {
    const remove = this.resources.createQueryBuilder().delete().from(Resource).where('id = :id', { id });
    applyScope(remove, scope, '');
    return ((await remove.execute()).affected ?? 0) === 1;
  }

  private scoped(scope: ResourceScope): SelectQueryBuilder<Resource> {
    const query = this.resources.createQueryBuilder('r').where('TRUE');
    applyScope(query, scope, 'r.');
    return query;
  }
}

/** The scope as SQL; `prefix` is the table alias of a select ('r.') or '' in UPDATE/DELETE. */
function applyScope(query: WhereExpressionBuilder, scope: ResourceScope, prefix: string): void {
  switch (scope.kind) {
    case 'all':
      return;
    case 'public':
      query.andWhere(`${prefix}visibility = 'public'`);
      return;
    case 'public-or-owned':
      query.andWhere(`(${prefix}visibility = 'public' OR ${prefix}owner_id = :scopeOwner)`, {
        scopeOwner: scope.ownerId,
      });
      return;
    case 'owned':
      query.andWhere(`${prefix}owner_id = :scopeOwner`, { scopeOwner: scope.ownerId });
      return;
    case 'none':
      query.andWhere('FALSE');
  }
}
