import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

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
