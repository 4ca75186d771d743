import { Injectable, type NestMiddleware } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppConfig } from '../../config/app-config.js';
import {
  BadRequestError,
  MalformedBodyError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../errors/app-error.js';

const MAX_DEPTH = 32;

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(req: Request): boolean {
  return req.is(['application/json', 'application/*+json']) !== false;
}

/** Text Postgres cannot store (NUL) or validators choke on (a lone surrogate, `\ud800`). */
function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}

/**
 * Rejects what the parsers accept but a DTO must never see: prototype keys, deep nesting,
 * and strings that are not storable text. Applied to JSON bodies and query strings alike.
 */
function checkShape(value: unknown, depth = 0, where = 'body'): void {
  if (typeof value === 'string') {
    if (!isStorableText(value))
      throw new BadRequestError(`The ${where} contains text that is not valid Unicode or has NUL.`);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_DEPTH) throw new BadRequestError(`The ${where} is nested deeper than ${MAX_DEPTH} levels.`);
  for (const key of Object.keys(value)) {
    if (key === '__proto__') throw new BadRequestError(`The ${where} contains the forbidden property "__proto__".`);
    if (!isStorableText(key))
      throw new BadRequestError(`The ${where} contains a name that is not valid Unicode or has NUL.`);
    checkShape((value as Record<string, unknown>)[key], depth + 1, where);
  }
}

/**
 * Parses JSON bodies as a Nest middleware (Nest's own parser is off), so that every parse
 * failure reaches the problem-details filter instead of Express's HTML error page.
 */
@Injectable()
export class JsonBodyMiddleware implements NestMiddleware {
  private readonly parse: express.RequestHandler;

  constructor(config: AppConfig) {
    this.parse = express.json({ limit: config.http.bodyLimit, strict: true, type: () => true });
  }

  async use(req: Request, res: Response, next: NextFunction): Promise<void> {
    checkShape(req.query, 0, 'query string');
    if (!hasBody(req)) return next();
    if (!isJson(req)) {
      throw new UnsupportedMediaTypeError(
        `Send the body as application/json (got ${req.headers['content-type'] ?? 'no content type'}).`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      this.parse(req, res, (error?: unknown) => (error ? reject(toAppError(error)) : resolve()));
    });
    checkShape(req.body);
    next();
  }
}

function toAppError(error: unknown): Error {
  const type = (error as { type?: string }).type;
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError('The body is larger than the server accepts.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new UnsupportedMediaTypeError('Send the body as UTF-8 JSON.');
    case 'entity.parse.failed':
      return new MalformedBodyError('The body could not be parsed as JSON.');
    default:
      return new BadRequestError('The body could not be read.');
  }
}
