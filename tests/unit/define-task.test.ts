import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { defineTask, type TaskContext, type TaskDefinition } from '../../src/tasks/define-task.js';

/** A schema whose input and output differ: `.default()` makes the field optional in, required out. */
const resizeSchema = z.object({
  url: z.string(),
  width: z.number().int().default(800),
  format: z.enum(['png', 'jpeg']).optional(),
});

type ResizeInput = { url: string; width?: number | undefined; format?: 'png' | 'jpeg' | undefined };
type ResizeOutput = { url: string; width: number; format?: 'png' | 'jpeg' | undefined };

describe('defineTask', () => {
  it("types the handler's payload as the schema's output", () => {
    defineTask({
      name: 'types.payload',
      payload: resizeSchema,
      handler({ payload }) {
        expectTypeOf(payload).toEqualTypeOf<ResizeOutput>();
        expectTypeOf(payload).not.toEqualTypeOf<ResizeInput>();
        expectTypeOf(payload.width).toEqualTypeOf<number>();
      },
    });
  });

  it('gives the handler attempt, signal and progress', () => {
    defineTask({
      name: 'types.context',
      payload: z.object({}),
      async handler(context) {
        expectTypeOf(context).toEqualTypeOf<TaskContext<Record<string, never>>>();
        expectTypeOf(context.attempt).toEqualTypeOf<number>();
        expectTypeOf(context.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(context.taskId).toEqualTypeOf<string>();
        expectTypeOf(context.jobId).toEqualTypeOf<string>();
        expectTypeOf(context.dependencies).toEqualTypeOf<Readonly<Record<string, unknown>>>();
        expectTypeOf(context.progress).toEqualTypeOf<(current: number, total?: number, message?: string) => Promise<void>>();
        await context.progress(1);
        await context.progress(1, 10);
        await context.progress(1, 10, 'one of ten');
        // @ts-expect-error: current is a number
        await context.progress('1');
        // @ts-expect-error: message is a string
        await context.progress(1, 10, 42);
      },
    });
  });

  it("makes the definition's result type the handler's return type", () => {
    const sync = defineTask({
      name: 'types.sync',
      payload: resizeSchema,
      handler: ({ payload }) => ({ resizedTo: payload.width }),
    });
    expectTypeOf(sync).toEqualTypeOf<TaskDefinition<ResizeOutput, { resizedTo: number }>>();

    const async = defineTask({
      name: 'types.async',
      payload: resizeSchema,
      handler: async ({ payload }) => payload.url.length,
    });
    expectTypeOf(async).toEqualTypeOf<TaskDefinition<ResizeOutput, number>>();

    const none = defineTask({ name: 'types.void', payload: z.string(), handler: () => {} });
    expectTypeOf(none).toEqualTypeOf<TaskDefinition<string, void>>();
  });

  it('rejects a handler that uses a payload property the schema does not have', () => {
    defineTask({
      name: 'types.wrong-property',
      payload: resizeSchema,
      handler({ payload }) {
        // @ts-expect-error: the payload has no `height`
        return payload.height;
      },
    });

    defineTask({
      name: 'types.wrong-type',
      payload: resizeSchema,
      handler({ payload }) {
        // @ts-expect-error: `width` is a number, not a string
        return payload.width.toUpperCase();
      },
    });
  });

  it('returns the definition it was given', () => {
    const handler = () => 'done';
    const definition = { name: 'types.identity', payload: z.null(), handler, queue: 'q', maxAttempts: 2, timeoutMs: 5 };
    expect(defineTask(definition)).toBe(definition);
  });
});
