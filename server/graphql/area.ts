import type { Area, Services } from '../context.ts';

/** GraphQL at /graphql (owner: server/graphql). */
export async function setupGraphql(s: Services): Promise<Area> {
  void s;
  return {
    name: 'graphql',
  };
}
