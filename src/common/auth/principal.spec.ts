import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALL_PERMISSIONS as ALL,
  callerArb as callerOf,
  has,
  scopesArb,
  toPrincipal,
} from '../../../test/support/resource-oracle.js';
import { effectivePermissions } from './principal.js';

const RUNS = { numRuns: 2_000 };
const callerArb = callerOf(['u-1', 'u-2', 'u-3']);

/* What a principal may do, against docs/contract.md's role table (test/support/resource-oracle.ts). */
describe('effectivePermissions', () => {
  it("should be the roles' permissions cut down to the scopes", () => {
    fc.assert(
      fc.property(callerArb, (caller) => {
        const expected = ALL.filter((permission) => has(caller, permission)).sort();
        expect([...effectivePermissions(caller.roles, caller.scopes)].sort()).toEqual(expected);
        expect([...toPrincipal(caller).permissions].sort()).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('should never grant a scope the roles lack, nor anything at all without a role', () => {
    fc.assert(
      fc.property(scopesArb, (scopes) => {
        expect(effectivePermissions([], scopes).size).toBe(0);
      }),
      RUNS,
    );
  });
});
