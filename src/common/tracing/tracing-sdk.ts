import type { IncomingMessage } from 'node:http';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { redactUrl } from '../logging/redact.js';

/** Probes and scrapes every few seconds would drown the traces, as they would the log. */
function isProbe(request: IncomingMessage): boolean {
  const url = request.url ?? '';
  return url.startsWith('/health/') || url === '/metrics';
}

/**
 * Starts tracing: spans for incoming HTTP requests (W3C `traceparent` accepted), Express
 * routing, Postgres and Redis, sent over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the
 * exporter reads the standard OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables itself).
 *
 * What a span may carry, on a security server: no headers (the HTTP instrumentation records
 * none unless told), query strings through `redactUrl` (OAuth requests carry state and codes),
 * SQL text without parameter values (`enhancedDatabaseReporting` stays off), and Redis
 * command names without their arguments (keys hold token hashes and addresses).
 */
export function startTracing(serviceName: string): void {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: isProbe,
        // The app calls nothing over HTTP but the alert webhook; its URL may hold a token.
        ignoreOutgoingRequestHook: () => true,
        requestHook: (span, request) => {
          if (!('url' in request) || typeof request.url !== 'string' || !request.url.includes('?')) return;
          const url = redactUrl(request.url);
          span.setAttribute('http.target', url);
          span.setAttribute('url.query', url.slice(url.indexOf('?') + 1));
        },
      }),
      new ExpressInstrumentation(),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
    ],
  });
}
