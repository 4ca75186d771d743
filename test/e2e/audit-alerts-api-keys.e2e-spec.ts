import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyAddressMonitor } from '../../src/modules/api-keys/api-key-address-monitor.js';
import { AuditWriter } from '../../src/modules/audit/audit-writer.js';
import { signedIn, type SignedUpUser } from '../factories/auth.js';
import {
  describeWithSharedServices,
  startTestApp,
  startTestCluster,
  type TestApp,
  type TestCluster,
} from '../setup/test-app.js';
import { Receiver } from './alert-webhook-receiver.js';

/** Where supertest's requests come from unless sent through an agent of another loopback address. */
const FIRST_ADDRESS = '127.0.0.1';
const SECOND_ADDRESS = '127.0.0.21';
const THIRD_ADDRESS = '127.0.0.22';
const DETECTOR = 'api-key-new-address';

const agents = new Map<string, Agent>();
/** A client of its own at `address` (any 127/8 address is this machine). */
const agentAt = (address: string): Agent => {
  const agent = agents.get(address) ?? new Agent({ localAddress: address });
  agents.set(address, agent);
  return agent;
};

interface CreatedKey {
  id: string;
  key: string;
}

async function createKey(t: TestApp): Promise<{ owner: SignedUpUser; key: CreatedKey }> {
  const { user, tokens } = await signedIn(t.http);
  const res = await t.http
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${tokens.access_token}`)
    .send({ name: 'deploy bot', scopes: ['resources:read'] });
  expect(res.status).toBe(201);
  return { owner: user, key: res.body as CreatedKey };
}

/** One authenticated request with the key, from `address`. */
async function useKey(t: TestApp, key: CreatedKey, address: string): Promise<void> {
  const req = t.http.get('/api/v1/auth/me').set('X-API-Key', key.key);
  const res = await (address === FIRST_ADDRESS ? req : req.agent(agentAt(address)));
  expect(res.status, res.text).toBe(200);
}

/** Once the app has stored what it noticed (off the request path) and written its audit events. */
async function settled(t: TestApp): Promise<void> {
  await t.app.get(ApiKeyAddressMonitor).settled();
  await t.app.get(AuditWriter).drain();
}

const query = (t: TestApp, sql: string, params: unknown[]) =>
  t.app.get(DataSource).query(sql, params) as Promise<Record<string, unknown>[]>;

async function storedAddresses(t: TestApp, key: CreatedKey): Promise<string[]> {
  const rows = await query(t, 'SELECT address FROM api_key_addresses WHERE key_id = $1 ORDER BY address', [key.id]);
  return rows.map((row) => row.address as string);
}

/** The `security.alert` events this detector raised about the key, oldest first. */
const keyAlerts = (t: TestApp, key: CreatedKey) =>
  query(
    t,
    `SELECT target, outcome, ip, details FROM audit_events
     WHERE action = 'security.alert' AND details->>'detector' = $1 AND target LIKE $2 ORDER BY seq`,
    [DETECTOR, `${key.id}@%`],
  );

const newAddressEvents = (t: TestApp, key: CreatedKey) =>
  query(
    t,
    `SELECT actor_id, auth_method, credential_id, target, outcome, ip, details FROM audit_events
     WHERE action = 'api-key.new-address' AND target = $1 ORDER BY seq`,
    [key.id],
  );

afterAll(() => {
  for (const agent of agents.values()) agent.destroy();
});

describe('security alerts: an API key used from a new address', () => {
  let t: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await Receiver.start();
    t = await startTestApp({ ...receiver.env });
  });
  afterAll(async () => {
    await t.close();
    await receiver.close();
  });

  it('should not alert for the first address a key is ever used from', async () => {
    const { key } = await createKey(t);
    await useKey(t, key, FIRST_ADDRESS);
    await settled(t);
    expect(await storedAddresses(t, key)).toEqual([FIRST_ADDRESS]);
    expect(await newAddressEvents(t, key)).toEqual([]);
    expect(await keyAlerts(t, key)).toEqual([]);
  });

  it('should raise exactly one alert naming the key and the new address, then none for either address', async () => {
    const { owner, key } = await createKey(t);
    await useKey(t, key, FIRST_ADDRESS);
    await settled(t);
    await useKey(t, key, SECOND_ADDRESS);
    await settled(t);

    const subject = `${key.id}@${SECOND_ADDRESS}`;
    expect(await newAddressEvents(t, key)).toEqual([
      {
        actor_id: owner.id,
        auth_method: 'api-key',
        credential_id: key.id,
        target: key.id,
        outcome: 'success',
        ip: SECOND_ADDRESS,
        details: { address: SECOND_ADDRESS },
      },
    ]);
    expect(await keyAlerts(t, key)).toEqual([
      {
        target: subject,
        outcome: 'denied',
        ip: SECOND_ADDRESS,
        details: { detector: DETECTOR, subject, count: 1, window: 300 },
      },
    ]);
    const [call] = await receiver.waitFor(DETECTOR, 1, subject);
    expect(call).toMatchObject({ detector: DETECTOR, subject, count: 1 });
    const warnings = t.logs.lines.filter((line) => line.includes('"security alert"') && line.includes(subject));
    expect(warnings.map((line) => (JSON.parse(line) as { level: number }).level)).toEqual([40]);

    for (let i = 0; i < 3; i++) {
      await useKey(t, key, FIRST_ADDRESS);
      await useKey(t, key, SECOND_ADDRESS);
    }
    await settled(t);
    expect(await newAddressEvents(t, key)).toHaveLength(1);
    expect(await keyAlerts(t, key)).toHaveLength(1);
    expect(await storedAddresses(t, key)).toEqual([FIRST_ADDRESS, SECOND_ADDRESS]);
    // No alert was raised, and the webhook is called only when one is (in the same step).
    expect(receiver.callsFor(DETECTOR, subject)).toHaveLength(1);
  });

  it('should refuse a wrong secret from a new address without storing the address', async () => {
    const { key } = await createKey(t);
    await useKey(t, key, FIRST_ADDRESS);
    const forged = `${key.key.split('.')[0]}.${randomBytes(32).toString('base64url')}`;
    const res = await t.http.get('/api/v1/auth/me').set('X-API-Key', forged).agent(agentAt(THIRD_ADDRESS));
    expect(res.status).toBe(401);
    await settled(t);
    expect(await storedAddresses(t, key)).toEqual([FIRST_ADDRESS]);
    expect(await keyAlerts(t, key)).toEqual([]);
  });
});

describeWithSharedServices('security alerts: API key addresses across a restart', () => {
  let receiver: Receiver;
  let cluster: TestCluster;
  beforeAll(async () => {
    receiver = await Receiver.start();
    // A cluster keeps its secrets across restarts (the API-key pepper too), as a deployment does.
    cluster = await startTestCluster(1, { ...receiver.env });
  });
  afterAll(async () => {
    await cluster?.close();
    await receiver?.close();
  });

  it('should not alert again after a restart for an address already stored, and alert for a new one', async () => {
    const [before] = cluster.apps as [TestApp];
    const { key } = await createKey(before);
    await useKey(before, key, FIRST_ADDRESS);
    await settled(before);
    await useKey(before, key, SECOND_ADDRESS);
    await settled(before);
    expect(await keyAlerts(before, key)).toHaveLength(1);
    await receiver.waitFor(DETECTOR, 1, `${key.id}@${SECOND_ADDRESS}`);
    await before.close();

    // A fresh process: nothing in memory, only what the database kept.
    const after = await cluster.start();
    await useKey(after, key, SECOND_ADDRESS);
    await useKey(after, key, FIRST_ADDRESS);
    await settled(after);
    expect(await newAddressEvents(after, key)).toHaveLength(1);
    expect(await keyAlerts(after, key)).toHaveLength(1);

    await useKey(after, key, THIRD_ADDRESS);
    await settled(after);
    const alerts = await keyAlerts(after, key);
    expect(alerts.map((alert) => alert.target)).toEqual([`${key.id}@${SECOND_ADDRESS}`, `${key.id}@${THIRD_ADDRESS}`]);
    await receiver.waitFor(DETECTOR, 1, `${key.id}@${THIRD_ADDRESS}`);
    expect(receiver.callsFor(DETECTOR).filter((call) => call.subject.startsWith(key.id))).toHaveLength(2);
  });
});
