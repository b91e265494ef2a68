import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';

test('with AIBOMGEN_TOKENS, GraphQL operations need a valid bearer token (401 otherwise); GraphiQL still loads', async () => {
  const srv = await startTestServer({ tokens: 'alice:s3cret' });
  try {
    const q = JSON.stringify({ query: '{ models { totalCount } }' });
    const post = (headers: Record<string, string>) =>
      fetch(`${srv.url}/graphql`, {
        method: 'POST',
        body: q,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const headerSets: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }];
    for (const h of headerSets) {
      const res = await post(h);
      assert.equal(res.status, 401);
      // The app-wide token check (server/app.ts) answers before GraphQL runs, in the GraphQL error shape.
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      assert.equal(body.errors[0]?.extensions.code, 'UNAUTHENTICATED');
      assert.match(body.errors[0]?.message ?? '', /token/);
    }
    const ok = await post({ authorization: 'Bearer s3cret' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { data: { models: { totalCount: 0 } } });
    const page = await fetch(`${srv.url}/graphql`, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /graphiql/i);
  } finally {
    await srv.close();
  }
});
