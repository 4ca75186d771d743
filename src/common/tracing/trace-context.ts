import { isSpanContextValid, ProxyTracerProvider, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';

/**
 * The trace of the work in progress, for log lines, problem details and audit events.
 * Undefined without tracing (OTEL_EXPORTER_OTLP_ENDPOINT unset): the API is then a no-op.
 */
export function currentTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context && isSpanContextValid(context) ? context.traceId : undefined;
}

/** `{ traceId }` while a trace is active, else nothing: spread into what is recorded. */
export function traceFields(): { traceId?: string } {
  const traceId = currentTraceId();
  return traceId ? { traceId } : {};
}

const tracer = trace.getTracer('nest-secure-api');

/**
 * Runs `work` in a span of its own: the hook for work outside a request (an outbox worker's
 * delivery, a scheduled purge), so it gets a trace id of its own that its log lines and
 * audit events carry, and its database and Redis spans nest under it. A no-op without tracing.
 */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name ?? 'Error' });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Sends the spans still buffered; main.ts calls it after the app closed, before exiting. */
export async function flushTraces(): Promise<void> {
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  await (delegate as { forceFlush?: () => Promise<void> }).forceFlush?.();
}
