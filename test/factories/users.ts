import { randomUUID } from 'node:crypto';

/** A password that passes every rule, unique per call. */
export function strongPassword(): string {
  return `Tidal-Orbit-${randomUUID().slice(0, 8)}-Quartz!`;
}

/** A fresh, valid registration body. */
export function newRegistration(overrides: Partial<{ email: string; password: string; displayName: string }> = {}) {
  const id = randomUUID().slice(0, 8);
  return {
    email: `user-${id}@example.test`,
    password: strongPassword(),
    displayName: `User ${id}`,
    ...overrides,
  };
}
