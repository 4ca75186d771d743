import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readScope, writeScope } from '../../src/modules/resources/resource-policy.js';
import { ResourcesRepository } from '../../src/modules/resources/resources.repository.js';
import { signUp } from '../factories/auth.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import {
  callerArb,
  expectedRead,
  expectedWrite,
  maybeCallerArb,
  resourceArb,
  toPrincipal,
  type ResourceFacts,
} from '../support/resource-oracle.js';

/** Fewer runs than the JavaScript property (resource-policy.spec.ts): each one is real queries. */
const RUNS = { numRuns: 150 };

/**
 * The resources policy property, against the SQL that runs: ResourcesRepository turns each
 * scope into its WHERE clause on Postgres, and the contract's role table (docs/contract.md)
 * says what the answer must be. Break the SQL and this fails, whatever the JavaScript says.
 */
describe('resource reach, in SQL', () => {
  let t: TestApp;
  let repository: ResourcesRepository;
  let userIds: string[];
  /** One resource per owner and visibility, never changed by the read and update properties. */
  let seeded: (ResourceFacts & { id: string })[];

  beforeAll(async () => {
    t = await startTestApp();
    repository = t.app.get(ResourcesRepository);
    userIds = [(await signUp(t.http)).id, (await signUp(t.http)).id, (await signUp(t.http)).id];
    seeded = [];
    for (const ownerId of userIds) {
      for (const visibility of ['private', 'public'] as const) {
        const row = await repository.insert({
          ownerId,
          visibility,
          name: `${visibility} of ${ownerId}`,
          description: '',
        });
        seeded.push({ id: row.id, ownerId, visibility });
      }
    }
  });
  afterAll(() => t.close());

  it('should find a resource exactly when the contract lets the caller read it', async () => {
    await fc.assert(
      fc.asyncProperty(maybeCallerArb(userIds), async (caller) => {
        const scope = readScope(caller === undefined ? undefined : toPrincipal(caller));
        for (const resource of seeded) {
          const found = await repository.findInScope(scope, resource.id);
          expect({ ...resource, found: found?.id === resource.id }).toEqual({
            ...resource,
            found: expectedRead(caller, resource),
          });
        }
      }),
      RUNS,
    );
  });

  it('should update a resource exactly when the contract lets the caller change it', async () => {
    await fc.assert(
      fc.asyncProperty(callerArb(userIds), async (caller) => {
        const scope = writeScope(toPrincipal(caller));
        for (const resource of seeded) {
          const changed = await repository.updateInScope(scope, resource.id, {});
          expect({ ...resource, changed }).toEqual({ ...resource, changed: expectedWrite(caller, resource) });
        }
      }),
      RUNS,
    );
  });

  it('should delete a resource exactly when the contract lets the caller change it', async () => {
    await fc.assert(
      fc.asyncProperty(callerArb(userIds), resourceArb(userIds), async (caller, facts) => {
        const { id } = await repository.insert({ ...facts, name: 'to delete', description: '' });
        const deleted = await repository.deleteInScope(writeScope(toPrincipal(caller)), id);
        const stillThere = (await repository.findInScope({ kind: 'all' }, id)) !== null;
        if (stillThere) await repository.deleteInScope({ kind: 'all' }, id);
        expect({ deleted, stillThere }).toEqual({
          deleted: expectedWrite(caller, facts),
          stillThere: !expectedWrite(caller, facts),
        });
      }),
      RUNS,
    );
  });
});
