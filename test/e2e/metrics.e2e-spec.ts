import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { signedIn } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { bearer } from '../support/http.js';
import { expectProblem } from '../support/problem-details.js';

describe('request metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const requestCounts = async () => {
    const histogram = t.app.get(MetricsRegistry).httpDuration;
    const { values } = await histogram.get();
    return values.filter((v) => (v as { metricName?: string }).metricName === 'http_request_duration_seconds_count');
  };

  it('should count every request by method, route pattern and status, never by the ids in its path', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) await t.http.get(`/api/v1/resources/${id}`).expect(404);
    await t.http.get('/no/such/route').expect(404);

    const counts = await requestCounts();
    expect(counts.find((v) => v.labels.route === '/api/v1/resources/:id' && v.labels.status === '404')).toMatchObject({
      labels: { method: 'GET' },
      value: 3,
    });
    // A path no route has is counted under Nest's catch-all pattern, not under itself.
    expect(counts.find((v) => v.labels.route === '/*path')?.value).toBe(1);
    const labels = JSON.stringify(counts.map((v) => v.labels));
    for (const id of ids) expect(labels).not.toContain(id);
    expect(labels).not.toContain('/no/such/route');
  });
});

/**
 * SECURITY.md: "`/metrics` exists only with `METRICS_TOKEN`, behind `Authorization: Bearer`".
 * Served by Express outside the API's credential guard, so no API credential opens it either.
 */
describe('GET /metrics', () => {
  const metricsToken = randomBytes(32).toString('base64url');

  describe('with METRICS_TOKEN', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ METRICS_TOKEN: metricsToken });
    });
    afterAll(() => t.close());

    it('should refuse no token, a wrong one, and a user’s valid JWT with 401, showing no metric', async () => {
      const user = await signedIn(t.http);
      const wrongOfTheSameLength = randomBytes(32).toString('base64url');
      expect(wrongOfTheSameLength).toHaveLength(metricsToken.length);
      const refused: Record<string, string>[] = [
        {},
        bearer(wrongOfTheSameLength),
        bearer(metricsToken.slice(0, -1)),
        { Authorization: metricsToken },
        { Authorization: `Token ${metricsToken}` },
        bearer(user.tokens),
      ];
      for (const headers of refused) {
        const res = await t.http.get('/metrics').set(headers);
        expectProblem(res, 401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        expect(res.text).not.toContain('# HELP');
        expect(res.text).not.toContain('http_request_duration_seconds');
      }
    });

    it('should serve the metrics to the right token', async () => {
      const res = await t.http.get('/metrics').set(bearer(metricsToken));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toContain('# HELP http_request_duration_seconds');
    });
  });

  describe('without METRICS_TOKEN', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(() => t.close());

    it('should not exist: 404, as for a path no route has, with or without a credential', async () => {
      const user = await signedIn(t.http);
      for (const headers of [{}, bearer(user.tokens)]) {
        const noRoute = await t.http.get('/no/such/route').set(headers);
        const res = await t.http.get('/metrics').set(headers);
        expectProblem(res, 404);
        expect({ type: res.body.type, detail: res.body.detail }).toEqual({
          type: noRoute.body.type,
          detail: noRoute.body.detail,
        });
        expect(res.text).not.toContain('# HELP');
      }
    });
  });
});
