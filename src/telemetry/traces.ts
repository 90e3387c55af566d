import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer, type TracerProvider } from '@opentelemetry/api';

/**
 * jobql's OpenTelemetry spans, through `@opentelemetry/api`: without an SDK registered by the
 * user every call here is a no-op (no span is recorded and no context is written). With one,
 * `jobql.submitJob` → each `jobql.attempt` → its `jobql.handler` make one trace: the submission's
 * context goes into the store with its tasks (`traceparent`, W3C), and each attempt continues it,
 * in whatever process runs it.
 */

let tracerOf: { readonly provider: TracerProvider; readonly tracer: Tracer } | undefined;

/** The global provider's tracer, looked up again when the provider is replaced (`trace.disable()` makes a new one). */
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (tracerOf?.provider !== provider) tracerOf = { provider, tracer: provider.getTracer('jobql') };
  return tracerOf.tracer;
}

interface Carrier {
  traceparent?: string;
  tracestate?: string;
}

/** Runs the submission in its span; `write` gets the context to store with the tasks (null without an SDK). */
export function inSubmitSpan<T>(attributes: Attributes, write: (traceParent: string | null) => Promise<T>): Promise<T> {
  return tracer().startActiveSpan('jobql.submitJob', { kind: SpanKind.PRODUCER, attributes }, async (span) => {
    const carrier: Carrier = {};
    propagation.inject(context.active(), carrier);
    try {
      return await write(carrier.traceparent ?? null);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** An attempt's span, a child of its submission's stored context when there is one. */
export interface AttemptSpan {
  /** Runs the handler in a child span of the attempt, with both active (the handler's own spans nest in it). */
  handler<T>(run: () => Promise<T>): Promise<T>;
  /** Ends the attempt's span: `error` when it did not succeed. */
  end(error?: unknown): void;
}

export function startAttemptSpan(traceParent: string | null, attributes: Attributes): AttemptSpan {
  const parent = traceParent ? propagation.extract(ROOT_CONTEXT, { traceparent: traceParent } satisfies Carrier) : ROOT_CONTEXT;
  const span = tracer().startSpan('jobql.attempt', { kind: SpanKind.CONSUMER, attributes }, parent);
  const active: Context = trace.setSpan(parent, span);
  return {
    handler: (run) =>
      tracer().startActiveSpan('jobql.handler', {}, active, async (handlerSpan) => {
        try {
          return await run();
        } catch (error) {
          failed(handlerSpan, error);
          throw error;
        } finally {
          handlerSpan.end();
        }
      }),
    end(error) {
      if (error !== undefined) failed(span, error);
      span.end();
    },
  };
}

function failed(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  if (error instanceof Error) span.recordException(error);
}
