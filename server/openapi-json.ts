/** Small helpers the areas' OpenAPI fragments share: a zod contract (schema/) as a JSON Schema and a JSON answer. */
import { z } from 'zod';

export type Json = Record<string, unknown>;

/** The contract's JSON Schema (input side), without its `$schema` line. */
export function jsonSchemaOf(s: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** An OpenAPI response with a JSON body of contract `s`. */
export function jsonAnswer(s: z.ZodType, description: string): Json {
  return { description, content: { 'application/json': { schema: jsonSchemaOf(s) } } };
}
