import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  callerArb as callerOf,
  expectedRead,
  expectedWrite,
  has,
  maybeCallerArb as maybeCallerOf,
  resourceArb as resourceOf,
  toPrincipal,
} from '../../../test/support/resource-oracle.js';
import { reaches, readScope, writeScope } from './resource-policy.js';

const RUNS = { numRuns: 2_000 };

/*
 * The rules as JavaScript, fast and exhaustive. The same property runs against Postgres, through
 * ResourcesRepository's SQL, in test/e2e/resource-reach.e2e-spec.ts.
 */
const USER_IDS = ['u-1', 'u-2', 'u-3'];
const callerArb = callerOf(USER_IDS);
const maybeCallerArb = maybeCallerOf(USER_IDS);
const resourceArb = resourceOf(USER_IDS);

describe('resource policy', () => {
  describe('readScope', () => {
    it('should let anonymous callers see public resources, others also their own, admins all', () => {
      fc.assert(
        fc.property(maybeCallerArb, resourceArb, (caller, resource) => {
          const expected = expectedRead(caller, resource);
          const principal = caller === undefined ? undefined : toPrincipal(caller);
          expect(reaches(readScope(principal), resource)).toBe(expected);
        }),
        RUNS,
      );
    });
  });

  describe('writeScope', () => {
    it('should let only the owner or an admin, with resources:write, change a resource', () => {
      fc.assert(
        fc.property(callerArb, resourceArb, (caller, resource) => {
          expect(reaches(writeScope(toPrincipal(caller)), resource)).toBe(expectedWrite(caller, resource));
        }),
        RUNS,
      );
    });

    it('should never reach what the same caller cannot read', () => {
      fc.assert(
        fc.property(callerArb, resourceArb, (caller, resource) => {
          const principal = toPrincipal(caller);
          const canRead = has(caller, 'resources:read');
          if (canRead && reaches(writeScope(principal), resource)) {
            expect(reaches(readScope(principal), resource)).toBe(true);
          }
        }),
        RUNS,
      );
    });
  });
});
