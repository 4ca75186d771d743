import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { Public } from '../../common/auth/public.decorator.js';

/**
 * Baseline routes for `npm run bench`: the cost of the framework itself (middleware, global
 * guard, filters) with no work in the handler, which every other scenario is compared to.
 */
// Not part of the API contract, so kept out of the OpenAPI document.
@ApiExcludeController()
@Controller('bench')
export class BenchController {
  @Get('public')
  @Public()
  publicRoute(): { ok: true } {
    return { ok: true };
  }

  /** The credential guard's cost; with a JWT it must touch no database (test/e2e/jwt-no-sql). */
  @Get('protected')
  @Authenticated()
  protectedRoute(): { ok: true } {
    return { ok: true };
  }
}
