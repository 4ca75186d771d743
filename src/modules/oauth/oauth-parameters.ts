import { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Far above any real parameter (tokens are 43 characters, a PKCE verifier at most 128, a state a few hundred). */
export const MAX_PARAMETER_LENGTH = 4_096;
/** A form body of the provider's endpoints: a handful of bounded parameters. */
const MAX_FORM_BYTES = 16 * 1024;

/** Text Postgres can store (no NUL), well-formed Unicode (no lone surrogate), of bounded length. */
export function isAcceptableParameter(value: string): boolean {
  return value.length <= MAX_PARAMETER_LENGTH && value.isWellFormed() && !value.includes('\u0000');
}

/**
 * Why these urlencoded parameters are refused, or undefined. Percent-encoding must decode to
 * UTF-8 (decodeURIComponent throws on a lone surrogate's bytes), and every name and value
 * must be acceptable.
 */
function refusal(encoded: string): string | undefined {
  for (const pair of encoded.split('&')) {
    if (pair === '') continue;
    const separator = pair.indexOf('=');
    const [rawName, rawValue] = separator === -1 ? [pair, ''] : [pair.slice(0, separator), pair.slice(separator + 1)];
    let name: string;
    let value: string;
    try {
      // Not node:querystring: it falls back to U+FFFD where the bytes are not UTF-8.
      name = decodeURIComponent(rawName.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      return 'a parameter is not percent-encoded UTF-8';
    }
    if (!isAcceptableParameter(name) || !isAcceptableParameter(value)) {
      const which = isAcceptableParameter(name) ? `'${name}' ` : '';
      return `parameter ${which}is not valid Unicode, contains NUL, or is longer than ${MAX_PARAMETER_LENGTH} characters`;
    }
  }
  return undefined;
}

function answer(res: Response, status: number, description: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store');
  res.json({ error: 'invalid_request', error_description: description });
}

/**
 * In front of the authorization server: every query and form parameter is checked before
 * the provider sees it, and a bad one is answered 400 `invalid_request` as the provider
 * answers. oidc-provider would hand a NUL to Postgres (a 500 and an error log line) or store
 * a lone surrogate; it has no hook between parsing parameters and using them, so the form
 * body is read here and given to the provider again as a fresh request.
 */
export function checkOAuthParameters(
  handle: (req: Request, res: Response, next: NextFunction) => void,
): RequestHandler {
  return (req, res, next) => {
    const problem = refusal(req.url.split('?')[1] ?? '');
    if (problem) return answer(res, 400, problem);
    if (req.method !== 'POST' || !req.is('application/x-www-form-urlencoded')) return handle(req, res, next);
    readBody(req).then(
      (body) => {
        if (body === undefined) return answer(res, 413, `the request body is larger than ${MAX_FORM_BYTES} bytes`);
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(body);
        } catch {
          return answer(res, 400, 'the request body is not UTF-8');
        }
        const formProblem = refusal(text);
        if (formProblem) return answer(res, 400, formProblem);
        handle(replay(req, body), res, next);
      },
      (error: unknown) => next(error),
    );
  };
}

/** The body, or undefined once it grows past the limit (the rest is left unread). */
async function readBody(req: Request): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let received = 0;
  // Not destroyed on an early return: the 413 still has to reach the client on this socket.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, received);
}

/**
 * The same request with its body readable again: a new IncomingMessage on the same socket,
 * with what Express and Koa read of the original (method, URL and the mount path the
 * provider builds its URLs from, headers).
 */
function replay(req: Request, body: Buffer): Request {
  const copy = new IncomingMessage(req.socket) as Request;
  copy.method = req.method;
  copy.url = req.url;
  copy.originalUrl = req.originalUrl;
  copy.baseUrl = req.baseUrl;
  copy.httpVersion = req.httpVersion;
  copy.headers = { ...req.headers, 'content-length': String(body.length) };
  delete copy.headers['transfer-encoding'];
  copy.rawHeaders = req.rawHeaders;
  copy.push(body);
  copy.push(null);
  // As the HTTP parser marks a request it read whole: an incomplete one, once destroyed,
  // would take the keep-alive socket (and the response on it) down with it.
  copy.complete = true;
  return copy;
}
