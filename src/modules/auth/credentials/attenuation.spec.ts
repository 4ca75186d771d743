import type { Request } from 'express';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTH_METHODS } from '../../../common/auth/credential-kind.js';
import { PERMISSIONS } from '../../../common/auth/permission.js';
import { effectivePermissions, makePrincipal } from '../../../common/auth/principal.js';
import { ROLES } from '../../../common/auth/roles.js';
import { routeSecurity } from '../../../common/auth/route-security.js';
import { ApiKeysController } from '../../api-keys/api-keys.controller.js';
import { OAuthClientsController } from '../../oauth/clients/oauth-clients.controller.js';
import { AuthController } from '../auth.controller.js';
import { PersonalTokensController } from '../tokens/personal-tokens.controller.js';
import { mayCreate } from './attenuation.js';
import { CredentialsController, UserCredentialsController } from './credentials.controller.js';

const RUNS = { numRuns: 3_000 };

/** Any credential: every way of signing in, any scopes (or none), any roles of its owner. */
const creatorArb = fc
  .record({
    authMethod: fc.constantFrom(...AUTH_METHODS),
    scopes: fc.option(fc.subarray([...PERMISSIONS]), { nil: null }),
    roles: fc.subarray([...ROLES]),
  })
  .map((c) => makePrincipal({ ...c, userId: 'u-1', credentialId: 'c-1' }));

const requestedArb = fc.record({
  kind: fc.constantFrom('personal-token' as const, 'api-key' as const),
  scopes: fc.option(fc.subarray([...PERMISSIONS]), { nil: null }),
});

/** The first-party sign-in credentials, written out here rather than asked of the code. */
const isSignIn = (p: { authMethod: string; scopes: unknown }) =>
  (p.authMethod === 'jwt' || p.authMethod === 'session') && p.scopes === null;

describe('mayCreate: credentials attenuate', () => {
  it('should create nothing broader than its creator, and only from a first-party sign-in', () => {
    fc.assert(
      fc.property(creatorArb, requestedArb, (creator, requested) => {
        const verdict = mayCreate(creator, requested);
        if (!verdict.allowed) return;
        expect(isSignIn(creator)).toBe(true);
        // What the new credential may do, with its owner's roles, is within what its creator may.
        const created = effectivePermissions(creator.roles, requested.scopes);
        for (const permission of created) expect(creator.permissions.has(permission)).toBe(true);
        // An unscoped credential (as broad as its owner) is only ever a personal token.
        if (requested.scopes === null) expect(requested.kind).toBe('personal-token');
      }),
      RUNS,
    );
  });

  it('should let a first-party sign-in create any credential within its own permissions', () => {
    fc.assert(
      fc.property(creatorArb, requestedArb, (creator, requested) => {
        const within = requested.scopes?.every((scope) => creator.permissions.has(scope)) ?? true;
        const expected =
          isSignIn(creator) && within && (requested.scopes !== null || requested.kind === 'personal-token');
        expect(mayCreate(creator, requested).allowed).toBe(expected);
      }),
      RUNS,
    );
  });
});

/** Every route that creates, rotates or ends credentials, or changes what they may do. */
const CREDENTIAL_ROUTES: [string, object, string][] = [
  ['POST /auth/tokens', PersonalTokensController.prototype, 'create'],
  ['DELETE /auth/tokens/:id', PersonalTokensController.prototype, 'delete'],
  ['POST /api-keys', ApiKeysController.prototype, 'create'],
  ['POST /api-keys/:id/rotate', ApiKeysController.prototype, 'rotate'],
  ['DELETE /api-keys/:id', ApiKeysController.prototype, 'revoke'],
  ['POST /oauth-clients', OAuthClientsController.prototype, 'create'],
  ['DELETE /oauth-clients/:clientId', OAuthClientsController.prototype, 'delete'],
  ['POST /auth/password', AuthController.prototype, 'changePassword'],
  ['DELETE /auth/credentials/:id', CredentialsController.prototype, 'end'],
  ['POST /auth/sign-out-everywhere', CredentialsController.prototype, 'signOutEverywhere'],
  ['DELETE /users/:id/credentials', UserCredentialsController.prototype, 'endAll'],
];

describe('routes that create, rotate or end credentials', () => {
  it.each(CREDENTIAL_ROUTES)('%s should admit only a first-party sign-in', (_, prototype, method) => {
    const handler = (prototype as Record<string, unknown>)[method] as object;
    const { access } = routeSecurity(handler, (prototype as object).constructor);
    const policy = access?.kind === 'authenticated' ? access.policy : undefined;
    expect(policy).toBeDefined();
    const request = { params: { id: 'u-1' } } as unknown as Request;
    fc.assert(
      fc.property(creatorArb, (caller) => {
        if (policy?.allows(caller, request)) expect(isSignIn(caller)).toBe(true);
      }),
      RUNS,
    );
  });
});
