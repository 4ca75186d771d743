import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../setup/test-app.js';

// A file of its own: the logger is the first app's of a file (test/setup/test-app.ts), and this
// one must run at `warn`.
describe('request logging at LOG_LEVEL=warn', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ LOG_LEVEL: 'warn' });
  });
  afterAll(() => t.close());

  it('should write no line for a refused request, however many come', async () => {
    for (let i = 0; i < 5; i++) {
      await t.http
        .get('/api/v1/resources/00000000-0000-4000-8000-000000000000')
        .set('Authorization', 'Bearer x.y.z')
        .expect(401);
      await t.http.get('/api/v1/resources/00000000-0000-4000-8000-000000000000').expect(404);
      await t.http.post('/api/v1/auth/register').send({ email: 'not-an-address' }).expect(400);
    }
    expect(t.logs.text()).not.toContain('/api/v1/');
  });
});
