import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer, Reflector } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessPolicy } from '../../src/common/auth/access-policy.js';
import { ACCESS_POLICY, ALLOW_ANONYMOUS } from '../../src/common/auth/authenticated.decorator.js';
import { IS_PUBLIC } from '../../src/common/auth/public.decorator.js';
import { ALLOWED_BEFORE_MFA_ENROLLMENT, RECENT_SIGN_IN, type RecentSignInRule } from '../../src/common/auth/step-up.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

function joinPaths(...parts: (string | undefined)[]): string {
  return `/${parts
    .flatMap((p) => (p ?? '').split('/'))
    .filter(Boolean)
    .join('/')}`;
}

/**
 * Every route with its access policy, one line each. A change here is a permission change:
 * the snapshot makes it visible in review.
 */
function routePolicies(t: TestApp): string[] {
  const reflector = t.app.get(Reflector);
  const controllers = [...t.app.get(ModulesContainer).values()].flatMap((m) => [...m.controllers.values()]);
  const lines: string[] = [];
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
      const targets = [handler, controller];
      const isPublic = reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets);
      const policy = reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY, targets);
      const anonymous = reflector.getAllAndOverride<boolean | undefined>(ALLOW_ANONYMOUS, targets)
        ? 'anonymous or '
        : '';
      const rule = isPublic
        ? 'public'
        : policy
          ? `${anonymous}authenticated: ${policy.description}`
          : 'DENIED (no policy)';
      const recent = reflector.getAllAndOverride<RecentSignInRule | undefined>(RECENT_SIGN_IN, targets);
      const stepUp = recent ? ` + recent sign-in (${recent.description})` : '';
      const beforeEnrolment = reflector.getAllAndOverride<boolean | undefined>(ALLOWED_BEFORE_MFA_ENROLLMENT, targets)
        ? ' + before MFA enrolment'
        : '';
      lines.push(`${method.padEnd(6)} ${joinPaths(base, path).padEnd(44)} ${rule}${stepUp}${beforeEnrolment}`);
    }
  }
  return lines.sort();
}

describe('route access policies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('should match the reviewed snapshot, route by route', async () => {
    await expect(`${routePolicies(t).join('\n')}\n`).toMatchFileSnapshot('./__snapshots__/route-policy.txt');
  });

  it('should leave no route without a policy', () => {
    expect(routePolicies(t).filter((line) => line.includes('DENIED'))).toEqual([]);
  });
});
