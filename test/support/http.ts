import type { Response } from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { DataSource } from 'typeorm';
import { expect } from 'vitest';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import type { TestApp } from '../setup/test-app.js';

/** An access token as the API hands it out, alone or with the user it belongs to. */
type AccessToken = string | { access_token: string } | { tokens: { access_token: string } };

/** `Authorization: Bearer <access token>`. */
export function bearer(credential: AccessToken): { Authorization: string } {
  const token =
    typeof credential === 'string'
      ? credential
      : 'tokens' in credential
        ? credential.tokens.access_token
        : credential.access_token;
  return { Authorization: `Bearer ${token}` };
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Every page of a listing, in order, following nextCursor (each page must be a 200). */
export async function listAll<T>(
  http: TestAgent,
  path: string,
  { query = {}, headers = {} }: { query?: Record<string, string | number>; headers?: Record<string, string> } = {},
): Promise<{ pages: Page<T>[]; items: T[] }> {
  const pages: Page<T>[] = [];
  let cursor: string | null = null;
  do {
    const res: Response = await http
      .get(path)
      .query({ ...query, ...(cursor ? { cursor } : {}) })
      .set(headers);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body as Page<T>;
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor !== null && pages.length < 100);
  return { pages, items: pages.flatMap((page) => page.data) };
}

/** The rows of `table` as stored: a refused write must leave it unchanged. */
export async function countRows(t: TestApp, table: string): Promise<number> {
  const [row] = (await t.app.get(DataSource).query(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[];
  return Number(row?.n);
}

/** An API key of the caller behind `headers` that carries only `scopes`. */
export async function apiKeyFor(
  t: TestApp,
  headers: Record<string, string>,
  scopes: string[],
): Promise<{ 'X-API-Key': string }> {
  const res = await t.http.post('/api/v1/api-keys').set(headers).send({ name: 'scoped', scopes }).expect(201);
  return { 'X-API-Key': res.body.key as string };
}

/** The audit events written for one request (by its X-Request-Id), once the writer has stored them. */
export async function auditEventsOf<Row = Record<string, unknown>>(
  t: TestApp,
  res: Response,
  columns = '*',
): Promise<Row[]> {
  await t.app.get(AuditWriter).drain();
  return (await t.app
    .get(DataSource)
    .query(`SELECT ${columns} FROM audit_events WHERE request_id = $1 ORDER BY seq`, [
      res.headers['x-request-id'],
    ])) as Row[];
}
