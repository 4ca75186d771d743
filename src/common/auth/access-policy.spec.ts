import type { Request } from 'express';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callerArb as callerOf, GRANTS, has, toPrincipal, type Caller } from '../../../test/support/resource-oracle.js';
import { allOf, anyOf, can, hasRole, isSelf, not, policy, type AccessPolicy } from './access-policy.js';
import { PERMISSIONS, type Permission } from './permission.js';
import { ROLES, type Role } from './roles.js';

const RUNS = { numRuns: 2_000 };
const USER_IDS = ['u-1', 'u-2', 'u-3'];
const userIdArb = fc.constantFrom(...USER_IDS);
const callerArb = callerOf(USER_IDS);

/** A policy tree and the boolean it must evaluate to, computed without the combinators. */
type Tree =
  | { kind: 'const'; value: boolean }
  | { kind: 'can'; permission: Permission }
  | { kind: 'role'; role: Role }
  | { kind: 'self'; permission: Permission }
  | { kind: 'all' | 'any'; children: Tree[] }
  | { kind: 'not'; child: Tree };

const { tree: treeArb } = fc.letrec<{ tree: Tree; leaf: Tree; node: Tree }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('node')),
  leaf: fc.oneof(
    fc.record({ kind: fc.constant('const' as const), value: fc.boolean() }),
    fc.record({ kind: fc.constant('can' as const), permission: fc.constantFrom(...PERMISSIONS) }),
    fc.record({ kind: fc.constant('role' as const), role: fc.constantFrom(...ROLES) }),
    fc.record({ kind: fc.constant('self' as const), permission: fc.constantFrom(...PERMISSIONS) }),
  ),
  node: fc.oneof(
    fc.record({
      kind: fc.constantFrom('all' as const, 'any' as const),
      children: fc.array(tie('tree'), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('not' as const), child: tie('tree') }),
  ),
}));

function build(tree: Tree): AccessPolicy {
  switch (tree.kind) {
    case 'const':
      return policy(String(tree.value), () => tree.value);
    case 'can':
      return can(tree.permission);
    case 'role':
      return hasRole(tree.role);
    case 'self':
      return isSelf(tree.permission);
    case 'all':
      return allOf(...tree.children.map(build));
    case 'any':
      return anyOf(...tree.children.map(build));
    case 'not':
      return not(build(tree.child));
  }
}

function evaluate(tree: Tree, caller: Caller, paramId: string): boolean {
  switch (tree.kind) {
    case 'const':
      return tree.value;
    case 'can':
      return has(caller, tree.permission);
    case 'role':
      // A scoped credential is "of a role" only when its scopes cover all the role grants.
      return (
        caller.roles.includes(tree.role) &&
        (caller.scopes === null || (GRANTS[tree.role] ?? []).every((p) => caller.scopes?.includes(p as Permission)))
      );
    case 'self':
      // Oneself, and a scoped credential must carry the route's permission.
      return paramId === caller.userId && (caller.scopes === null || caller.scopes.includes(tree.permission));
    case 'all': {
      let result = true;
      for (const child of tree.children) result = result && evaluate(child, caller, paramId);
      return result;
    }
    case 'any': {
      let result = false;
      for (const child of tree.children) result = result || evaluate(child, caller, paramId);
      return result;
    }
    case 'not':
      return !evaluate(tree.child, caller, paramId);
  }
}

describe('access policy combinators', () => {
  it('should make allOf, anyOf and not agree with &&, || and !', () => {
    fc.assert(
      fc.property(treeArb, callerArb, userIdArb, (tree, caller, paramId) => {
        const request = { params: { id: paramId } } as unknown as Request;
        expect(build(tree).allows(toPrincipal(caller), request)).toBe(evaluate(tree, caller, paramId));
      }),
      RUNS,
    );
  });

  it('should agree with && and || on flat lists of booleans', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 6 }), callerArb, (values, caller) => {
        const policies = values.map((value) => policy(String(value), () => value));
        const request = { params: {} } as unknown as Request;
        const principal = toPrincipal(caller);
        expect(allOf(...policies).allows(principal, request)).toBe(values.reduce((a, b) => a && b, true));
        expect(anyOf(...policies).allows(principal, request)).toBe(values.reduce((a, b) => a || b, false));
        for (const [i, inner] of policies.entries()) expect(not(inner).allows(principal, request)).toBe(!values[i]);
      }),
      RUNS,
    );
  });
});
