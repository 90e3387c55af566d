import type { SubmitJobInput } from '../../src/service/submit-input.js';

const SUBMIT_JOB = `mutation Submit($input: SubmitJobInput!) {
  submitJob(input: $input) { __typename ... on SubmitJobSuccess { job { id } } ... on Error { code message } }
}`;

/** submitJob over HTTP, as a front end sends it, with `key` when given; throws unless the answer is SubmitJobSuccess. */
export function graphqlSubmit(url: string, key?: string): (input: SubmitJobInput) => Promise<{ id: string }> {
  const authorization: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
  return async (input) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...authorization },
      body: JSON.stringify({ query: SUBMIT_JOB, variables: { input } }),
    });
    const body = (await response.json()) as { data?: { submitJob?: { __typename: string; job?: { id: string }; message?: string } } };
    const result = body.data?.submitJob;
    if (result?.__typename !== 'SubmitJobSuccess' || !result.job) throw new Error(`submitJob over HTTP failed: ${JSON.stringify(body)}`);
    return result.job;
  };
}
