/**
 * Module boundaries, checked by `npm run lint:deps` (part of `npm run lint`, so CI fails on a
 * violation; test/lint/boundaries.spec.ts proves it on a deliberately bad import). The map in
 * docs/architecture.md is checked against the same imports (test/docs/module-map.spec.ts).
 *
 * A module's public surface, what another module may import from it: its module class, its
 * services, events, errors, decorators, DTOs and retention. Anything else is its own business.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const PUBLIC_SURFACE = [
  '\\.module\\.ts$',
  '\\.service\\.ts$',
  '\\.events\\.ts$',
  '\\.errors\\.ts$',
  '\\.decorator\\.ts$',
  '/dto/',
  '-retention\\.ts$',
  // Where the API-key and OAuth strategies register themselves with the credential guard, and
  // their credentials with the inventory; where a credential came from; what a credential may
  // create (mayCreate, the caps).
  '^src/modules/auth/credential-strategies\\.ts$',
  '^src/modules/auth/credentials/(credential-inventory|credential-origin|attenuation)\\.ts$',
  // The mail outbox a module writes into in its own transaction, the notices it may raise and
  // the names of the templates; the users module's account view (never the password hash).
  '^src/modules/mail/(mail-outbox|security-notices|mail-templates)\\.ts$',
  '^src/modules/users/user-accounts\\.ts$',
  // Readiness says whether the server's database role can rewrite the audit trail.
  '^src/modules/audit/audit-privileges\\.ts$',
  // The credential guard runs the rate limiter after authentication, before the 401.
  '^src/modules/rate-limit/rate-limit\\.guard\\.ts$',
  // The same limiter in front of what Express serves outside Nest (the OAuth server).
  '^src/modules/rate-limit/limit-express-routes\\.ts$',
  // Foreign keys only: the next rule says who may import it.
  '^src/modules/users/user\\.entity\\.ts$',
];

module.exports = {
  forbidden: [
    {
      name: 'module-public-surface',
      severity: 'error',
      comment:
        'A module imports only the public surface of another (module, services, events, errors, decorators, DTOs, retention); export what it needs there.',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', ...PUBLIC_SURFACE] },
    },
    {
      name: 'user-entity-for-foreign-keys-only',
      severity: 'error',
      comment:
        'The User entity (password hash included) stays in the users module; other entities may name it for a foreign key, and db/entities.ts registers it.',
      from: { path: '^src/', pathNot: ['^src/modules/users/', '\\.entit(y|ies)\\.ts$', '^src/db/entities\\.ts$'] },
      to: { path: '^src/modules/users/user\\.entity\\.ts$' },
    },
    {
      name: 'common-is-a-leaf',
      severity: 'error',
      comment: 'src/common is what every module uses: it imports no module, no database setup, no CLI and no app.',
      from: { path: '^src/common/' },
      to: { path: '^src/(modules|db|cli)/|^src/(app|main|cli)\\.' },
    },
    {
      name: 'config-is-a-leaf',
      severity: 'error',
      comment: 'Configuration is read once at boot; it depends on nothing of the application.',
      from: { path: '^src/config/' },
      // The one exception: the role names, to validate MFA_REQUIRED_ROLES at boot.
      to: { path: '^src/(modules|common|db|cli)/', pathNot: '^src/common/auth/roles\\.ts$' },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      comment: 'Modules depend on each other in one direction (auth does not import api-keys or oauth: they register with it).',
      from: { path: '^src/modules/([^/]+)/' },
      to: { path: '^src/modules/[^/]+/', pathNot: '^src/modules/$1/', circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.spec\\.ts$' },
    // Type-only imports count: a type is coupling too (the User entity's type above all).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
