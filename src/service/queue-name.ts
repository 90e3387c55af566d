import { z } from 'zod';

/** What a queue may be called: the one rule for submissions, task types and worker settings. */
const MAX_QUEUE_NAME_LENGTH = 100;

export const queueNameSchema = z
  .string()
  .min(1)
  .max(MAX_QUEUE_NAME_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and use only letters, digits and . _ : -');
