import type { Context, Hono } from 'hono';
import type { Logger } from 'pino';
import { repositoryNamePattern } from '../../schema/reference.ts';
import type { RegistryTokenResponse } from '../../schema/tokens.ts';
import type { AppEnv } from '../context.ts';
import type { Caller, RegistryGrant } from '../identity.ts';
import { REGISTRY_SERVICE, TOKEN_PATH } from '../registry/challenge.ts';
import { RegistryError } from '../registry/errors.ts';
import { type Auth, resolveCredentials } from './auth.ts';

type Action = RegistryGrant['actions'][number];
const ACTIONS: readonly Action[] = ['pull', 'push', 'delete'];

export interface TokenEndpointDeps {
  auth: Auth;
  /** The registry's one access check (RegistryService.authorize): a grant is what it allows this caller. */
  registry: { authorize(caller: Caller, repo: string, action: Action): void };
  log: Logger;
}

/** A refusal in the registry's error shape, which docker, oras, skopeo and cosign print. */
function refuse(c: Context<AppEnv>, status: 400 | 401, code: string, message: string): Response {
  if (status === 401) c.header('WWW-Authenticate', `Basic realm="${REGISTRY_SERVICE}", charset="UTF-8"`);
  return c.json({ errors: [{ code, message }] }, status);
}

/** `repository:<name>:<actions>` scopes (several per parameter, space-separated); other types grant nothing. */
export function parseScopes(params: readonly string[]): { repository: string; actions: Action[] }[] | string {
  const wanted = new Map<string, Set<Action>>();
  for (const scope of params.flatMap((p) => p.split(' ')).filter(Boolean)) {
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first < 0 || last === first) return `scope ${JSON.stringify(scope)} is not <type>:<name>:<actions>`;
    if (scope.slice(0, first) !== 'repository') continue; // registry:catalog:* and the like: nothing to grant
    const name = scope.slice(first + 1, last);
    if (name.length > 255 || !repositoryNamePattern.test(name))
      return `scope ${JSON.stringify(scope)} names an invalid repository`;
    const set = wanted.get(name) ?? new Set<Action>();
    for (const a of scope.slice(last + 1).split(',')) {
      if (a === '*') for (const x of ACTIONS) set.add(x);
      else if ((ACTIONS as readonly string[]).includes(a)) set.add(a as Action);
      else return `scope ${JSON.stringify(scope)}: unknown action ${JSON.stringify(a)} (pull, push, delete, *)`;
    }
    wanted.set(name, set);
  }
  return [...wanted].map(([repository, actions]) => ({ repository, actions: [...actions] }));
}

/**
 * The registry's token endpoint (the Docker token spec): `GET /token?service=aibomgen&scope=repository:<name>:
 * pull,push` with Basic `<owner>:<API token>` — or without credentials, for anonymous pulls where they are open —
 * and the OAuth2 password grant (`POST /token`) some clients use. It answers a short-lived JWT granting the
 * requested actions that the registry's access check allows this caller: requested ∩ allowed, never more.
 */
export function mountTokenEndpoint(app: Hono<AppEnv>, d: TokenEndpointDeps): void {
  const issue = async (c: Context<AppEnv>, caller: Caller, service: string | undefined, scopes: string[]) => {
    if (service !== undefined && service !== REGISTRY_SERVICE)
      return refuse(c, 400, 'UNSUPPORTED', `service must be "${REGISTRY_SERVICE}", got ${JSON.stringify(service)}`);
    const wanted = parseScopes(scopes);
    if (typeof wanted === 'string') return refuse(c, 400, 'UNSUPPORTED', wanted);
    const grants: RegistryGrant[] = [];
    for (const w of wanted) {
      const allowed = w.actions.filter((action) => {
        try {
          d.registry.authorize(caller, w.repository, action);
          return true;
        } catch (e) {
          if (e instanceof RegistryError) return false;
          throw e;
        }
      });
      grants.push({ repository: w.repository, actions: allowed });
    }
    const t = await d.auth.registryTokens.issue(caller, grants);
    d.log.debug({ owner: caller.kind === 'user' ? caller.owner : caller.kind, grants }, 'registry token issued');
    const body: RegistryTokenResponse = {
      token: t.token,
      access_token: t.token,
      expires_in: t.expires_in,
      issued_at: t.issued_at,
    };
    c.header('Cache-Control', 'no-store');
    return c.json(body);
  };

  app.get(TOKEN_PATH, async (c) => {
    const problem = c.get('authProblem');
    if (problem) return refuse(c, 401, 'UNAUTHORIZED', problem);
    return issue(c, c.get('caller'), c.req.query('service'), c.req.queries('scope') ?? []);
  });

  app.post(TOKEN_PATH, async (c) => {
    const form = await c.req.parseBody().catch(() => undefined);
    const field = (k: string): string | undefined => (typeof form?.[k] === 'string' ? (form[k] as string) : undefined);
    if (!form) return refuse(c, 400, 'UNSUPPORTED', 'the body must be application/x-www-form-urlencoded');
    if (field('grant_type') !== 'password')
      return refuse(c, 400, 'UNSUPPORTED', 'grant_type must be "password" (this server issues no refresh tokens)');
    const user = field('username') ?? '';
    const password = field('password') ?? '';
    if (!user || !password) return refuse(c, 400, 'UNSUPPORTED', 'username and password are required');
    const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const who = await resolveCredentials(d.auth.enabled ? d.auth.resolvers : [], { authorization });
    if (who.problem) return refuse(c, 401, 'UNAUTHORIZED', who.problem);
    return issue(c, who.caller, field('service'), (field('scope') ?? '').split(' '));
  });
}
