import { RequestMethod, type Type } from '@nestjs/common';
import { INTERCEPTORS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPRESS_ROUTES } from '../../src/app.module.js';
import { AuditInterceptor } from '../../src/common/audit/audit.interceptor.js';
import type { RouteSecurity } from '../../src/common/auth/route-security.js';
import {
  describeAccess,
  describeAudit,
  describeRateLimit,
  routeSecurity,
} from '../../src/common/auth/route-security.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

function joinPaths(...parts: (string | undefined)[]): string {
  return `/${parts
    .flatMap((p) => (p ?? '').split('/'))
    .filter(Boolean)
    .join('/')}`;
}

const line = (method: string, path: string, limit: string, audit: string, access: string) =>
  `${method.padEnd(6)} ${path.padEnd(46)} ${limit.padEnd(24)} ${audit.padEnd(36)} ${access}`.trimEnd();

const HEADER = line('METHOD', 'PATH', 'RATE LIMIT', 'AUDIT', 'ACCESS');

/** What a route asks beyond its access policy: step-up, and openness before MFA enrolment. */
function stepUpOf(security: RouteSecurity): string {
  const recent = security.recentSignIn ? ` + recent sign-in (${security.recentSignIn.description})` : '';
  return `${recent}${security.allowedBeforeMfaEnrollment ? ' + before MFA enrolment' : ''}`;
}

/** Every Nest route, read by the very function the guard, the limiter and the interceptor call. */
interface NestRoute {
  method: string;
  path: string;
  line: string;
  audited: boolean;
  /** Its controller's interceptors, then its own, as Nest runs them (no global one is bound). */
  interceptors: unknown[];
}

function nestRoutes(t: TestApp): NestRoute[] {
  const controllers = [...t.app.get(ModulesContainer).values()].flatMap((m) => [...m.controllers.values()]);
  const routes: NestRoute[] = [];
  for (const wrapper of controllers) {
    const controller = wrapper.metatype as Type | undefined;
    if (!controller) continue;
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string | undefined;
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const security = routeSecurity(handler, controller);
      const full = joinPaths(base, path);
      const interceptorsOf = (target: object) =>
        (Reflect.getMetadata(INTERCEPTORS_METADATA, target) ?? []) as unknown[];
      routes.push({
        method,
        path: full,
        audited: security.auditAction !== undefined,
        interceptors: [...interceptorsOf(controller), ...interceptorsOf(handler)],
        line: line(
          method,
          full,
          describeRateLimit(security.rateLimit),
          describeAudit(security),
          `${describeAccess(security.access)}${stepUpOf(security)}`,
        ),
      });
    }
  }
  return routes.sort((a, b) => a.line.localeCompare(b.line));
}

interface ExpressLayer {
  rawPath?: string;
  slash?: boolean;
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: ExpressLayer[] };
}

/**
 * The paths Express itself answers, read from its router: mounts (`app.use(path, …)`), the
 * routes of mounted routers, and routes added on the app (Swagger). Global middleware (no
 * path) and Nest's own routes and middleware bindings (every method) are left out.
 */
function expressPaths(t: TestApp, nestPaths: Set<string>): string[] {
  const express = t.app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } };
  const found = new Set<string>();
  for (const layer of express.router.stack) {
    if (layer.slash !== false) continue;
    if (layer.route) {
      const everyMethod = Object.keys(layer.route.methods).length > 20;
      if (!everyMethod && !nestPaths.has(layer.route.path)) found.add(layer.route.path);
      continue;
    }
    const mount = layer.rawPath ?? '';
    const inner = layer.handle?.stack?.filter((l) => l.route) ?? [];
    if (inner.length === 0) found.add(mount);
    for (const route of inner) found.add(joinPaths(mount, route.route?.path));
  }
  return [...found].sort();
}

/** Whether a declared Express route covers a path Express answers: the same path, or a prefix mount. */
function covers(declared: string, path: string): boolean {
  if (declared === path) return true;
  if (!declared.endsWith('/*')) return false;
  const prefix = declared.slice(0, -2);
  return path === prefix || path.startsWith(`${prefix}/`);
}

function expressLines(): string[] {
  return EXPRESS_ROUTES.map((route) =>
    line(route.method, route.path, route.rateLimit, route.audit.join(', ') || '—', route.access),
  ).sort();
}

describe('route access policies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should match the reviewed snapshot, route by route', async () => {
    const snapshot = [
      '# Nest routes: the global guard, rate limits, audit interceptor, validation and problem+json apply.',
      '# Any of them may also record auth.credential.refused (guard), api-key.use and api-key.new-address (API-key',
      "# sign-in), access.denied and rate-limit.exceeded (filter). RATE LIMIT: default is the caller's identity limit",
      '# (address, user or API key), +auth also the auth limit per address, none is @SkipRateLimit().',
      HEADER,
      ...nestRoutes(t).map((route) => route.line),
      '',
      '# Served by Express before Nest (EXPRESS_ROUTES in app.module.ts): no guard or interceptor; the same limiter (limitExpressRoutes)',
      HEADER,
      ...expressLines(),
    ];
    await expect(`${snapshot.join('\n')}\n`).toMatchFileSnapshot('./__snapshots__/route-policy.txt');
  });

  it('should leave no route without a policy', () => {
    expect(nestRoutes(t).filter((route) => route.line.includes('DENIED'))).toEqual([]);
  });

  it('should run the audit interceptor on every @Audited route, once, and no interceptor on any other', () => {
    const routes = nestRoutes(t);
    expect(routes.filter((route) => route.audited).length).toBeGreaterThan(10);
    const wrong = routes.filter(
      (route) =>
        route.interceptors.length !== (route.audited ? 1 : 0) ||
        (route.audited && route.interceptors[0] !== AuditInterceptor),
    );
    expect(wrong.map((route) => `${route.method} ${route.path}`)).toEqual([]);
  });

  it('should declare every path Express answers outside Nest, and no path it does not', () => {
    const nestPaths = new Set(nestRoutes(t).map((route) => route.path));
    const served = expressPaths(t, nestPaths);
    expect(served.filter((path) => !EXPRESS_ROUTES.some((route) => covers(route.path, path)))).toEqual([]);
    // The discovery documents are rewrites by a path-less middleware, so they are asked for below.
    const declared = EXPRESS_ROUTES.filter((route) => !route.path.startsWith('/.well-known/'));
    expect(declared.filter((route) => !served.some((path) => covers(route.path, path)))).toEqual([]);
  });

  it('should answer every declared discovery document from the authorization server', async () => {
    for (const route of EXPRESS_ROUTES.filter((r) => r.path.startsWith('/.well-known/'))) {
      const res = await t.http.get(route.path).set('Host', new URL(t.config.app.publicUrl).host).expect(200);
      expect(res.body, route.path).toMatchObject({ issuer: t.config.oauth.issuer });
    }
  });
});
