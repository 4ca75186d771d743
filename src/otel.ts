// OpenTelemetry, opt-in: `node --import ./dist/otel.js dist/main.js` (what `npm run start:prod`
// and the Docker image run). Nest 12 and its dependencies load as ES modules, which only a
// loader hook registered before them can instrument; so this runs first, through --import,
// and does nothing at all unless OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only variant) is
// set. It reads those standard OTEL_* variables itself, before the app's validated config
// exists, as the OpenTelemetry SDK does; env.schema.ts validates them again at boot.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

if (existsSync('.env')) process.loadEnvFile('.env');
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { startTracing } = await import('./common/tracing/tracing-sdk.js');
  startTracing(process.env.OTEL_SERVICE_NAME || 'nest-secure-api');
}
