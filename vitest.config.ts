import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // e2e files boot the app on their own database, so files run in parallel safely.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.spec.ts', 'test/bench/**/*.spec.ts', 'test/docs/**/*.spec.ts', 'test/lint/**/*.spec.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e-spec.ts'],
          globalSetup: ['test/setup/global-setup.ts', 'test/setup/generate-api-client.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
