import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** One route of the running app, with what its metadata is read from. */
export interface AppRoute {
  method: string;
  /** As declared, with `:params`. */
  path: string;
  /** The handler and its controller, as the guard reads metadata from them. */
  targets: [handler: (...args: unknown[]) => unknown, controller: Type];
}

function joinPaths(...parts: (string | undefined)[]): string {
  return `/${parts
    .flatMap((p) => (p ?? '').split('/'))
    .filter(Boolean)
    .join('/')}`;
}

/** Every route of every controller of the app. */
export function appRoutes(app: NestExpressApplication): AppRoute[] {
  const controllers = [...app.get(ModulesContainer).values()].flatMap((m) => [...m.controllers.values()]);
  const routes: AppRoute[] = [];
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
      routes.push({
        method,
        path: joinPaths(base, path),
        targets: [handler as (...args: unknown[]) => unknown, controller],
      });
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}
