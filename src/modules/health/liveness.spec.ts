import { describe, expect, it } from 'vitest';
import { RouteDeclarationError, routeSecurity, type RouteSecurity } from '../../common/auth/route-security.js';
import { HealthController } from './health.controller.js';
import { answerLivenessEarly } from './liveness.js';

const declared = routeSecurity(HealthController.prototype.live, HealthController);
const anonymous = () => false;

describe(answerLivenessEarly.name, () => {
  it("should answer early for the controller's liveness route as declared: public, never limited, not audited", () => {
    expect(() => answerLivenessEarly(declared, anonymous)).not.toThrow();
  });

  it('should refuse to boot once the route declares what the guard would have to enforce', () => {
    const changed: RouteSecurity[] = [
      { ...declared, access: undefined },
      { ...declared, rateLimit: undefined },
      { ...declared, rateLimit: { kind: 'scoped', scope: 'auth' } },
      { ...declared, auditAction: 'auth.login' },
    ];
    for (const route of changed) expect(() => answerLivenessEarly(route, anonymous)).toThrow(RouteDeclarationError);
  });
});
