import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { PROJECT_ROOT } from '../support/jobql-process.js';
import { hashApiKeySecret } from '../../src/access/api-key-secret.js';

const run = promisify(execFile);

describe('npm run keys', () => {
  let testDb: TestDatabase;
  const keys = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/keys-main.ts', ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: testDb.schema },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb?.drop());

  it('creates a key, prints it on the last line only, stores its hash, lists and revokes it', async () => {
    const created = await keys('create', '--tenant', 'acme', '--scopes', 'read,submit', '--name', 'web app');
    expect(created.code).toBe(0);
    const secret = created.stdout.trim().split('\n').at(-1)!;
    expect(secret).toMatch(/^jobql_k_[0-9a-f]{48}$/);
    const [row] = await testDb.db.selectFrom('apiKeys').selectAll().execute();
    expect(row).toMatchObject({ tenantId: 'acme', scopes: ['read', 'submit'], name: 'web app', prefix: secret.slice(0, 14), revokedAt: null });
    expect(row!.secretHash.equals(hashApiKeySecret(secret))).toBe(true);
    expect(JSON.stringify(await testDb.db.selectFrom('apiKeys').selectAll().execute())).not.toContain(secret.slice(14));

    const listed = await keys('list', '--tenant', 'acme');
    expect(listed.stdout).toContain(row!.id);
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(secret);
    expect((await keys('list', '--tenant', 'globex')).stdout.trim()).toBe('no keys');

    const revoked = await keys('revoke', row!.id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('REVOKED');
    expect((await testDb.db.selectFrom('apiKeys').select('revokedAt').executeTakeFirstOrThrow()).revokedAt).toBeInstanceOf(Date);
  });

  it('refuses unknown scopes, a bad tenant, an unknown id and a wrong command with exit code 2, writing nothing', async () => {
    const before = (await testDb.db.selectFrom('apiKeys').selectAll().execute()).length;
    const scope = await keys('create', '--tenant', 'acme', '--scopes', 'read,reed');
    expect(scope).toMatchObject({ code: 2 });
    expect(scope.stderr).toContain('unknown scope "reed"');
    expect((await keys('create', '--tenant', 'no spaces', '--scopes', 'read')).code).toBe(2);
    expect((await keys('revoke', '00000000-0000-4000-8000-000000000000')).stderr).toContain('NOT_FOUND');
    expect((await keys('rotate')).stderr).toContain('usage:');
    expect((await testDb.db.selectFrom('apiKeys').selectAll().execute()).length).toBe(before);
  });
});
