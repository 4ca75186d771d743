import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTraceId, traced, traceFields } from './trace-context.js';

describe('traced(): the span for work outside a request (an outbox worker, a job)', () => {
  it('should run the work and record nothing while tracing is off', async () => {
    expect(await traced('outbox.deliver', {}, async () => currentTraceId())).toBeUndefined();
    expect(traceFields()).toEqual({});
  });

  describe('with tracing on', () => {
    const exporter = new InMemorySpanExporter();
    beforeAll(() => {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    });
    afterAll(() => {
      trace.disable();
      context.disable();
    });

    it('should give the work a trace its own log lines and audit events carry', async () => {
      const seen = await traced('outbox.deliver', { 'outbox.kind': 'mail' }, async () => traceFields());
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).toBe('outbox.deliver');
      expect(span?.attributes).toEqual({ 'outbox.kind': 'mail' });
      expect(seen).toEqual({ traceId: span?.spanContext().traceId });
    });

    it('should mark the span failed, by the error’s name only, and rethrow', async () => {
      exporter.reset();
      const failure = Object.assign(new Error('smtp said no to ada@example.com'), { name: 'DeliveryError' });
      await expect(traced('outbox.deliver', {}, () => Promise.reject(failure))).rejects.toBe(failure);
      expect(exporter.getFinishedSpans()[0]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'DeliveryError' });
    });
  });
});
