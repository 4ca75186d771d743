import { Body, Controller, Get, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiExcludeController, ApiOperation } from '@nestjs/swagger';
import type { Response } from 'express';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Principal } from '../../common/auth/principal.js';
import { Public } from '../../common/auth/public.decorator.js';
import { CreateResourceDto, ResourceResponse } from '../resources/dto/resource.dto.js';
import { ResourcesService } from '../resources/resources.service.js';
import { EventLoopDelayMonitor, type EventLoopDelay } from './event-loop-delay.js';

/**
 * Baseline routes for `npm run bench`: the cost of the framework itself (middleware, global
 * guard, filters) with no work in the handler, which every other scenario is compared to.
 */
// Not part of the API contract, so kept out of the OpenAPI document.
@ApiExcludeController()
@Controller('bench')
export class BenchController {
  constructor(
    private readonly resources: ResourcesService,
    private readonly eventLoop: EventLoopDelayMonitor,
  ) {}

  /** The event-loop delay since the last reset; the bench reads it after a load. */
  @Get('event-loop')
  @ApiOperation({ operationId: 'getBenchEventLoop', summary: 'Benchmark: event-loop delay since the last reset' })
  @Public()
  eventLoopDelay(): EventLoopDelay {
    return this.eventLoop.read();
  }

  /** Starts a new measurement; the bench calls it before a load. */
  @Post('event-loop/reset')
  @ApiOperation({ operationId: 'resetBenchEventLoop', summary: 'Benchmark: start measuring the event-loop delay' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @Public()
  resetEventLoopDelay(): void {
    this.eventLoop.reset();
  }

  @Get('public')
  @ApiOperation({ operationId: 'getBenchPublic', summary: 'Benchmark: a public route' })
  @Public()
  publicRoute(): { ok: true } {
    return { ok: true };
  }

  /** The credential guard's cost; with a JWT it must touch no database (test/e2e/jwt-no-sql). */
  @Get('protected')
  @ApiOperation({ operationId: 'getBenchProtected', summary: 'Benchmark: a route behind the credential guard' })
  @Authenticated()
  protectedRoute(): { ok: true } {
    return { ok: true };
  }

  /**
   * POST /api/v1/resources without @Audited: the same guard, validation, insert and headers,
   * so the bench can tell what the audit interceptor (and the event it writes) costs.
   */
  @Post('resources')
  @ApiOperation({ operationId: 'createBenchResource', summary: 'Benchmark: create a resource' })
  @HttpCode(HttpStatus.CREATED)
  @Authenticated({ permission: 'resources:write' })
  async createResource(
    @Principal() me: Principal,
    @Body() body: CreateResourceDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ResourceResponse> {
    const resource = await this.resources.create(me, body);
    res.setHeader('Location', `/api/v1/resources/${resource.id}`);
    res.setHeader('ETag', `"${resource.version}"`);
    return resource;
  }
}
