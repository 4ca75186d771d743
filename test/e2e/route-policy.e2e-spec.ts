import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_PUBLIC } from '../../src/common/auth/public.decorator.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

function joinPaths(...parts: (string | undefined)[]): string {
  return `/${parts.flatMap((p) => (p ?? '').split('/')).filter(Boolean).join('/')}`;
}

/**
 * Every route with its access policy, one line each. A change here is a permission change:
 * the snapshot makes it visible in review.
 */
function routePolicies(t: TestApp): string[] {
  const modules = [...t.app.get(ModulesContainer).values()];
  const scanner = new MetadataScanner();
  const reflector = t.app.get(Reflector);
  const lines: string[] = [];
  for (const wrapper of modules.flatMap((m) => [...m.controllers.values()])) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
    if (!controller || !wrapper.instance) continue;
    const base = reflector.get<string>(PATH_METADATA, controller);
    const proto = Object.getPrototypeOf(wrapper.instance) as Record<string, object>;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name] as object;
      const path = reflector.get<string>(PATH_METADATA, handler);
      if (path === undefined) continue;
      const method = RequestMethod[reflector.get<RequestMethod>(METHOD_METADATA, handler)];
      const isPublic = reflector.getAllAndOverride<boolean>(IS_PUBLIC, [handler, controller]);
      lines.push(`${method.padEnd(6)} ${joinPaths(base, path).padEnd(40)} ${isPublic ? 'public' : 'authenticated'}`);
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
    await expect(routePolicies(t).join('\n') + '\n').toMatchFileSnapshot('./__snapshots__/route-policy.txt');
  });
});
