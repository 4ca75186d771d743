import { Injectable } from '@nestjs/common';
import type { Principal } from '../../common/auth/principal.js';
import { ForbiddenError, NotFoundError, PreconditionFailedError } from '../../common/errors/app-error.js';
import { decodeCursor, toPage, type Page } from '../../common/http/pagination.js';
import {
  ResourceResponse,
  type CreateResourceDto,
  type ListResourcesQuery,
  type UpdateResourceDto,
} from './dto/resource.dto.js';
import { readScope, writeScope } from './resource-policy.js';
import { ResourcesRepository } from './resources.repository.js';

/** `If-Match: "<version>"`, `*`, or absent; a weak or malformed tag never matches (RFC 9110). */
export type VersionPrecondition = number | 'any' | 'never' | undefined;

@Injectable()
export class ResourcesService {
  constructor(private readonly resources: ResourcesRepository) {}

  async list(me: Principal | undefined, query: ListResourcesQuery): Promise<Page<ResourceResponse>> {
    const rows = await this.resources.list(readScope(me), query, query.limit + 1, decodeCursor(query.cursor));
    return toPage(rows, query.limit, ResourceResponse.from, (row) => ({
      createdAt: new Date(row.createdAt),
      id: row.id,
    }));
  }

  async get(me: Principal | undefined, id: string): Promise<ResourceResponse> {
    const resource = await this.resources.findInScope(readScope(me), id);
    if (!resource) throw new NotFoundError('No such resource.');
    return ResourceResponse.from(resource);
  }

  async create(me: Principal, body: CreateResourceDto): Promise<ResourceResponse> {
    const resource = await this.resources.insert({
      ownerId: me.userId,
      name: body.name,
      description: body.description ?? '',
      visibility: body.visibility,
    });
    return ResourceResponse.from(resource);
  }

  async update(
    me: Principal,
    id: string,
    body: UpdateResourceDto,
    precondition: VersionPrecondition,
  ): Promise<ResourceResponse> {
    if (precondition === 'never') await this.explainRefusal(me, id, true);
    const expected = typeof precondition === 'number' ? precondition : undefined;
    if (!(await this.resources.updateInScope(writeScope(me), id, body, expected))) {
      await this.explainRefusal(me, id, expected !== undefined);
    }
    // Read back through the write scope: a key with resources:write alone may not read.
    const updated = await this.resources.findInScope(writeScope(me), id);
    if (!updated) throw new NotFoundError('No such resource.');
    return ResourceResponse.from(updated);
  }

  async delete(me: Principal, id: string): Promise<void> {
    if (!(await this.resources.deleteInScope(writeScope(me), id))) await this.explainRefusal(me, id, false);
  }

  /**
   * Why a change did not happen: invisible or missing is 404 (existence is not leaked);
   * visible but not the caller's to change is 403; otherwise the version moved on (412).
   */
  private async explainRefusal(me: Principal, id: string, hadPrecondition: boolean): Promise<never> {
    if (await this.resources.findInScope(writeScope(me), id)) {
      if (hadPrecondition)
        throw new PreconditionFailedError('The resource changed since that version; fetch it again.');
      throw new NotFoundError('No such resource.');
    }
    if (await this.resources.findInScope(readScope(me), id)) {
      throw new ForbiddenError('Only the owner or an admin may change this resource.');
    }
    throw new NotFoundError('No such resource.');
  }
}
