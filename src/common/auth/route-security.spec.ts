import { Controller, Get } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
// oxlint-disable-next-line no-restricted-imports -- this spec proves the boot refuses them
import { SkipThrottle, Throttle } from '@nestjs/throttler';
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { ScopedRateLimit, SkipRateLimit } from '../../modules/rate-limit/rate-limit.decorator.js';
import { AuditInterceptor } from '../audit/audit.interceptor.js';
import { Audited, AuditedInService } from '../audit/audited.decorator.js';
import { Authenticated } from './authenticated.decorator.js';
import type { Principal } from './principal.js';
import { Public } from './public.decorator.js';
import { describeAccess, describeAudit, RouteDeclarationError, routeSecurity } from './route-security.js';

const of = (controller: new () => object, name: string) =>
  routeSecurity((controller.prototype as Record<string, object>)[name] as object, controller);

const reader = { userId: 'u1', permissions: new Set(['resources:read']), scopes: null } as unknown as Principal;

describe(routeSecurity.name, () => {
  it('should keep an @Authenticated handler of a @Public() controller protected', () => {
    @Public()
    @Controller('catalog')
    class CatalogController {
      @Get()
      list() {}

      @Authenticated({ permission: 'resources:write' })
      @Get('drafts')
      drafts() {}
    }
    expect(of(CatalogController, 'list').access).toEqual({ kind: 'public' });
    const drafts = of(CatalogController, 'drafts').access;
    expect(drafts?.kind).toBe('authenticated');
    expect(describeAccess(drafts)).toBe('authenticated: resources:write');
    if (drafts?.kind !== 'authenticated') throw new Error('unreachable');
    expect(drafts.policy.allows(reader, {} as Request)).toBe(false);
  });

  it('should let a handler be public in an @Authenticated controller', () => {
    @Authenticated()
    @Controller('things')
    class ThingsController {
      @Public()
      @Get('open')
      open() {}

      @Get()
      list() {}
    }
    expect(of(ThingsController, 'open').access).toEqual({ kind: 'public' });
    expect(describeAccess(of(ThingsController, 'list').access)).toBe('authenticated: signed in');
  });

  it('should apply a class-level rate-limit scope to every handler', () => {
    @ScopedRateLimit('auth')
    @Controller('signup')
    class SignUpController {
      @Public()
      @Get()
      start() {}
    }
    expect(of(SignUpController, 'start')).toMatchObject({ rateLimit: { kind: 'scoped', scope: 'auth' } });
  });

  it('should let a handler override its controller, declaration by declaration', () => {
    @SkipRateLimit()
    @Authenticated()
    @Controller('probes')
    class ProbesController {
      @ScopedRateLimit('auth')
      @Audited('resource.delete')
      @Get()
      probe() {}
    }
    expect(of(ProbesController, 'probe')).toMatchObject({
      rateLimit: { kind: 'scoped', scope: 'auth' },
      auditAction: 'resource.delete',
      access: { kind: 'authenticated' },
    });
  });

  it('should attach the audit interceptor to an @Audited handler and to no other', () => {
    @Authenticated()
    @Controller('notes')
    class NotesController {
      @Audited('resource.create')
      @Get()
      create() {}

      @Get('quiet')
      quiet() {}
    }
    const interceptorsOf = (name: 'create' | 'quiet') =>
      Reflect.getMetadata(INTERCEPTORS_METADATA, NotesController.prototype[name]) as unknown[] | undefined;
    expect(interceptorsOf('create')).toEqual([AuditInterceptor]);
    expect(interceptorsOf('quiet')).toBeUndefined();
    expect(Reflect.getMetadata(INTERCEPTORS_METADATA, NotesController)).toBeUndefined();
  });

  it('should refuse @Audited on a controller, where each route would run the interceptor twice', () => {
    const define = () => {
      // @ts-expect-error: a handler's decorator only; the type refuses it, and so does the boot.
      @Audited('resource.create')
      @Controller('notes')
      class AuditedController {
        @Audited('resource.update')
        @Get()
        update() {}
      }
      return AuditedController;
    };
    expect(define).toThrow(RouteDeclarationError);
    expect(define).toThrow(/AuditedController has @Audited on the controller/);
  });

  it('should show both what the interceptor writes and what the service records', () => {
    @Authenticated()
    @Controller('accounts')
    class AccountsController {
      @Audited('user.update')
      @AuditedInService('auth.password.change')
      @Get()
      change() {}

      @Get('quiet')
      quiet() {}
    }
    expect(describeAudit(of(AccountsController, 'change'))).toBe('user.update; auth.password.change (service)');
    expect(describeAudit(of(AccountsController, 'quiet'))).toBe('—');
  });

  it('should leave a route without declarations denied', () => {
    @Controller('bare')
    class BareController {
      @Get()
      bare() {}
    }
    expect(of(BareController, 'bare')).toEqual({
      access: undefined,
      rateLimit: undefined,
      auditAction: undefined,
      serviceAuditActions: [],
      replacesStaleSession: false,
      recentSignIn: undefined,
      allowedBeforeMfaEnrollment: false,
    });
    expect(describeAccess(undefined)).toBe('DENIED (no policy)');
  });

  it('should read the declarations once per handler', () => {
    @Public()
    @Controller('cached')
    class CachedController {
      @Get()
      get() {}
    }
    expect(of(CachedController, 'get')).toBe(of(CachedController, 'get'));
  });
});

describe('declaring twice', () => {
  it('should refuse @Public() and @Authenticated() on one handler', () => {
    expect(() => {
      class TwiceController {
        @Public()
        @Authenticated({ permission: 'users:manage' })
        @Get()
        twice() {}
      }
      return TwiceController;
    }).toThrow(
      new RouteDeclarationError(
        'TwiceController.twice declares its access (@Public/@Authenticated) twice; keep one declaration.',
      ),
    );
  });

  it('should refuse two access declarations on one controller', () => {
    expect(() => {
      @Authenticated()
      @Public()
      class TwiceController {}
      return TwiceController;
    }).toThrow(RouteDeclarationError);
  });

  it('should refuse @SkipRateLimit() with @ScopedRateLimit() and two @Audited on one handler', () => {
    expect(() => {
      class LimitsController {
        @SkipRateLimit()
        @ScopedRateLimit('auth')
        @Get()
        both() {}
      }
      return LimitsController;
    }).toThrow(/rate limit .* twice/);
    expect(() => {
      class AuditedController {
        @Audited('resource.create')
        @Audited('resource.update')
        @Get()
        both() {}
      }
      return AuditedController;
    }).toThrow(/audit action .* twice/);
  });

  it("should refuse @nestjs/throttler's @Throttle and @SkipThrottle, which nothing reads", () => {
    @Public()
    @Controller('throttled')
    class ThrottledController {
      @Throttle({ default: { limit: 1, ttl: 1000 } })
      @Get()
      throttled() {}
    }
    @SkipThrottle()
    @Public()
    @Controller('skipped')
    class SkippedController {
      @Get()
      skipped() {}
    }
    expect(() => of(ThrottledController, 'throttled')).toThrow(/@Throttle or @SkipThrottle/);
    expect(() => of(SkippedController, 'skipped')).toThrow(/@Throttle or @SkipThrottle/);
  });
});
