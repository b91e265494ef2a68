import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { streamResponse } from '../registry/node-io.ts';
import { graphiqlPage } from './graphiql-page.ts';
import { HttpError } from '../api-error.ts';
import type { AppEnv } from '../context.ts';
import type { Caller } from '../identity.ts';
import type { GqlContext, GqlDeps } from './context.ts';
import { maskError } from './errors.ts';
import { queryLimits } from './limits.ts';
import { createLoaders } from './loaders.ts';
import { buildSchema } from './schema.ts';

const GRAPHIQL_TITLE = 'AIBoMGen GraphQL';

/** A browser opening /graphql: a GET asking for HTML, without a query (yoga's own test for showing GraphiQL). */
const isGraphiqlPage = (c: Context): boolean =>
  c.req.method === 'GET' && !c.req.query('query') && (c.req.header('accept') ?? '').includes('text/html');

/** Limits that refuse abusive queries (graphql-armor validation rules, and verifications costed as they run). */
export { queryLimits } from './limits.ts';

/** Longest a request waits for the lineage index to take in events received before it (read-your-writes). */
const SETTLE_MS = 2000;

/** The GraphQL server (yoga, with its plugins and context), as mounted at /graphql and as bench/lineage runs it. */
export function createGraphqlServer(s: GqlDeps): YogaServerInstance<{ caller: Caller }, GqlContext> {
  return createYoga<{ caller: Caller }, GqlContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    graphiql: { title: GRAPHIQL_TITLE },
    landingPage: false,
    logging: {
      debug: (...a: unknown[]) => s.log.debug({ args: a }, 'graphql'),
      info: (...a: unknown[]) => s.log.info({ args: a }, 'graphql'),
      warn: (...a: unknown[]) => s.log.warn({ args: a }, 'graphql'),
      error: (...a: unknown[]) => s.log.error({ args: a }, 'graphql'),
    },
    maskedErrors: { maskError },
    plugins: [
      maxDepthPlugin({ n: queryLimits.maxDepth, ignoreIntrospection: true }),
      costLimitPlugin({ maxCost: queryLimits.maxCost, ignoreIntrospection: true }),
      // Queries run compiled (graphql-jit): a list of 10k versions (impact) resolves ~5x faster than through
      // graphql-js's interpreter. Mutations (multipart uploads) and subscriptions keep the reference executor.
      useGraphQlJit(
        {},
        { enableIf: (args) => getOperationAST(args.document, args.operationName ?? undefined)?.operation === 'query' },
      ),
    ],
    context: async ({ request, caller }): Promise<GqlContext> => {
      const index = s.lineage;
      await Promise.race([index.idle(), new Promise((r) => setTimeout(r, SETTLE_MS).unref())]);
      return { s, index, loaders: createLoaders(s, caller), request, caller };
    },
  });
}

/** GraphQL at /graphql (owner: server/graphql): GraphiQL in a browser, SSE subscriptions, multipart uploads. */
export function createGraphqlArea(s: GqlDeps): { mount(app: Hono<AppEnv>): void } {
  const yoga = createGraphqlServer(s);
  return {
    mount(app) {
      // With AIBOMGEN_TOKENS, operations need a token like /developer/* does; the GraphiQL page itself stays
      // open (it sends the token the user types in its headers pane). Refused in the GraphQL response shape.
      const auth = s.auth;
      if (auth.enabled) {
        app.use('/graphql', async (c, next) => {
          if (!isGraphiqlPage(c)) {
            try {
              auth.ownerOf(c);
            } catch (e) {
              if (!(e instanceof HttpError)) throw e;
              return c.json({ errors: [{ message: e.detail, extensions: { code: 'UNAUTHENTICATED' } }] }, 401);
            }
          }
          await next();
        });
      }
      const max = s.config.maxGraphqlBytes;
      app.use(
        '/graphql',
        bodyLimit({
          maxSize: max,
          onError: (c) =>
            c.json(
              {
                errors: [
                  {
                    message: `request body over ${max} bytes (AIBOMGEN_MAX_GRAPHQL_BYTES): upload big files with POST /developer/submit_job_by_model_and_data, which streams them to disk`,
                    extensions: { code: 'PAYLOAD_TOO_LARGE' },
                    // The rest of the body is not read: the connection must not carry another request.
                  },
                ],
              },
              413,
              { Connection: 'close' },
            ),
        }),
      );
      // GraphiQL from the installed package (not yoga's default CDN: the page works without internet access),
      // streamed from a file; what yoga would render for the same request (a browser's GET without a query).
      const page = graphiqlPage(join(s.config.dataDir, 'cache'));
      app.get('/graphql', async (c, next) => {
        if (!isGraphiqlPage(c)) return next();
        const html = await page({ title: GRAPHIQL_TITLE });
        const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
        const file = gzip ? `${html}.gz` : html;
        const headers: Record<string, string> = {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Length': String((await stat(file)).size),
          Vary: 'Accept-Encoding',
        };
        if (gzip) headers['Content-Encoding'] = 'gzip';
        return streamResponse(c, 200, headers, createReadStream(file));
      });
      app.on(['GET', 'POST', 'OPTIONS'], '/graphql', (c) => yoga.fetch(c.req.raw, { caller: c.get('caller') }));
    },
  };
}
