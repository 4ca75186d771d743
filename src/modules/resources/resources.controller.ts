import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPreconditionFailedResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import {
  CreateResourceDto,
  ListResourcesQuery,
  ResourcePage,
  ResourceResponse,
  UpdateResourceDto,
} from './dto/resource.dto.js';
import { ResourcesService, type VersionPrecondition } from './resources.service.js';
import { Audited } from '../../common/audit/audited.decorator.js';

const uuid = new ParseUUIDPipe({ version: '4' });

function etag(resource: ResourceResponse): string {
  return `"${resource.version}"`;
}

function parseIfMatch(header: string | undefined): VersionPrecondition {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return 'any';
  const match = /^"(\d{1,9})"$/.exec(header.trim());
  return match ? Number(match[1]) : 'never';
}

@ApiTags('resources')
@Controller('api/v1/resources')
export class ResourcesController {
  constructor(private readonly resources: ResourcesService) {}

  @Get()
  @ApiOperation({ operationId: 'listResources', summary: 'List resources the caller may see' })
  @Authenticated({ permission: 'resources:read', anonymous: true })
  @ApiOkResponse({ type: ResourcePage })
  list(@Principal() me: Principal | undefined, @Query() query: ListResourcesQuery): Promise<ResourcePage> {
    return this.resources.list(me, query);
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getResource', summary: 'Get a resource, with its version as ETag' })
  @Authenticated({ permission: 'resources:read', anonymous: true })
  @ApiOkResponse({ type: ResourceResponse, headers: { ETag: { description: '"<version>"' } } })
  @ApiNotFoundResponse({ description: 'Missing, or not visible to the caller' })
  async get(
    @Principal() me: Principal | undefined,
    @Param('id', uuid) id: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ResourceResponse> {
    const resource = await this.resources.get(me, id);
    res.setHeader('ETag', etag(resource));
    return resource;
  }

  @Post()
  @ApiOperation({ operationId: 'createResource', summary: 'Create a resource' })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ permission: 'resources:write' })
  @Audited('resource.create')
  @ApiCreatedResponse({ type: ResourceResponse, headers: { Location: { description: 'URL of the new resource' } } })
  async create(
    @Principal() me: Principal,
    @Body() body: CreateResourceDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ResourceResponse> {
    const resource = await this.resources.create(me, body);
    res.setHeader('Location', `/api/v1/resources/${resource.id}`);
    res.setHeader('ETag', etag(resource));
    return resource;
  }

  @Patch(':id')
  @ApiOperation({ operationId: 'updateResource', summary: 'Change a resource (If-Match for optimistic concurrency)' })
  @Authenticated({ permission: 'resources:write' })
  @Audited('resource.update')
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: '"<version>": refuse with 412 if the resource changed since',
  })
  @ApiOkResponse({ type: ResourceResponse })
  @ApiPreconditionFailedResponse({ description: 'If-Match names an older version' })
  async update(
    @Principal() me: Principal,
    @Param('id', uuid) id: string,
    @Body() body: UpdateResourceDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ResourceResponse> {
    const resource = await this.resources.update(me, id, body, parseIfMatch(ifMatch));
    res.setHeader('ETag', etag(resource));
    return resource;
  }

  @Delete(':id')
  @ApiOperation({ operationId: 'deleteResource', summary: 'Delete a resource' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated({ permission: 'resources:write' })
  @Audited('resource.delete')
  @ApiNoContentResponse()
  delete(@Principal() me: Principal, @Param('id', uuid) id: string): Promise<void> {
    return this.resources.delete(me, id);
  }
}
