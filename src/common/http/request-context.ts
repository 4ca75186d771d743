import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

const storage = new AsyncLocalStorage<Request>();

/** Makes the current request reachable from code that was not handed it (audit, alerts). */
export function requestContext(req: Request, _res: Response, next: NextFunction): void {
  storage.run(req, next);
}

/** The request being served, if any (undefined in CLI commands and timers). */
export function currentRequest(): Request | undefined {
  return storage.getStore();
}
