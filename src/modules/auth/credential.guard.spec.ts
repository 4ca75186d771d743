import { Controller, Get, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { Authenticated } from '../../common/auth/authenticated.decorator.js';
import { makePrincipal } from '../../common/auth/principal.js';
import { Public } from '../../common/auth/public.decorator.js';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors/app-error.js';
import { CredentialGuard } from './credential.guard.js';

@Public()
@Controller('catalog')
class CatalogController {
  @Get()
  list() {}

  @Authenticated({ permission: 'resources:write' })
  @Get('drafts')
  drafts() {}
}

/** The guard with no credential to check: only its reading of the route's declarations is at work. */
const guard = new CredentialGuard(
  ...([
    { isValid: () => true },
    { for: () => undefined },
    { canActivate: () => Promise.resolve(true) },
    {},
    {},
  ] as unknown as ConstructorParameters<typeof CredentialGuard>),
);

function contextFor(handler: keyof CatalogController, request: Partial<Request>): ExecutionContext {
  const req = { method: 'GET', headers: {}, cookies: {}, params: {}, ...request } as Request;
  return {
    getHandler: () => CatalogController.prototype[handler],
    getClass: () => CatalogController,
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
}

describe(CredentialGuard.name, () => {
  it('should let anyone call a handler of a @Public() controller', async () => {
    await expect(guard.canActivate(contextFor('list', {}))).resolves.toBe(true);
  });

  it('should keep an @Authenticated handler of a @Public() controller protected', async () => {
    await expect(guard.canActivate(contextFor('drafts', {}))).rejects.toBeInstanceOf(UnauthenticatedError);
    const reader = makePrincipal({
      userId: 'u-1',
      roles: ['staff'],
      scopes: ['resources:read'],
      authMethod: 'jwt',
      credentialId: 'c-1',
    });
    await expect(guard.canActivate(contextFor('drafts', { principal: reader }))).rejects.toBeInstanceOf(ForbiddenError);
  });
});
