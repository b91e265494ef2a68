import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { GqlContext } from './context.ts';
import { AuditQuery } from './resolvers/audit.ts';
import { Mutation } from './resolvers/mutation.ts';
import { Query } from './resolvers/query.ts';
import { Subscription } from './resolvers/subscription.ts';
import { TokenMutation, TokenQuery } from './resolvers/tokens.ts';
import { Model, ModelVersion, TrainingJob } from './resolvers/types.ts';
import { WorkersQuery } from './resolvers/workers.ts';

/** The SDL lives with the other contracts, in schema/graphql. */
export const typeDefs = readFileSync(
  fileURLToPath(new URL('../../schema/graphql/schema.graphql', import.meta.url)),
  'utf8',
);

function literal(v: ValueNode): unknown {
  switch (v.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return v.value;
    case Kind.BOOLEAN:
      return v.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(v.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return v.values.map(literal);
    case Kind.OBJECT:
      return Object.fromEntries(v.fields.map((f) => [f.name.value, literal(f.value)]));
    case Kind.VARIABLE:
      return undefined;
  }
}

/** Any JSON value, in and out. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: literal,
});

export function buildSchema() {
  return createSchema<GqlContext>({
    typeDefs,
    resolvers: {
      JSON: JSONScalar,
      Query: { ...Query, ...TokenQuery, ...AuditQuery, ...WorkersQuery },
      Mutation: { ...Mutation, ...TokenMutation },
      Subscription,
      Model,
      ModelVersion,
      TrainingJob,
    },
  });
}
