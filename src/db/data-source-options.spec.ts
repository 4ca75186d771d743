import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source-options.js';

const DATABASE_URL = 'postgres://app@db.internal:5432/app';

describe(dataSourceOptions.name, () => {
  it('should bound opening a connection and every statement, 5s and 10s by default', () => {
    const { db } = loadConfig({ DATABASE_URL });
    expect(dataSourceOptions(db, undefined)).toMatchObject({
      connectTimeoutMS: 5_000,
      extra: { statement_timeout: 10_000, query_timeout: 11_000 },
    });
  });

  it('should take the limits from DB_CONNECT_TIMEOUT and DB_QUERY_TIMEOUT', () => {
    const { db } = loadConfig({ DATABASE_URL, DB_CONNECT_TIMEOUT: '2s', DB_QUERY_TIMEOUT: '1m' });
    expect(dataSourceOptions(db, undefined)).toMatchObject({
      connectTimeoutMS: 2_000,
      extra: { statement_timeout: 60_000, query_timeout: 61_000 },
    });
  });

  it('should let statements run as long as they take with DB_QUERY_TIMEOUT=0', () => {
    const { db } = loadConfig({ DATABASE_URL, DB_QUERY_TIMEOUT: '0' });
    expect(dataSourceOptions(db, undefined)).toHaveProperty('extra', {});
  });

  it('should refuse DB_CONNECT_TIMEOUT=0, with which a request would wait for a connection forever', () => {
    expect(() => loadConfig({ DATABASE_URL, DB_CONNECT_TIMEOUT: '0' })).toThrow(/DB_CONNECT_TIMEOUT/);
  });
});
