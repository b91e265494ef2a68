/**
 * What a request to /graphql asks for, read at the HTTP edge before yoga runs it: the operation's type and its
 * root fields with their arguments. The rate limits (rate-limit.ts) count `submitTrainingJob` and `verify` from
 * it; the audit trail (server/audit) names mutations by it. The body is read from a clone of the request, so
 * yoga still receives all of it; a multipart body (uploads) is read only up to its `operations` field.
 * Selection follows graphql-js (getOperationAST), as yoga's: fragments at the root are followed, so wrapping a
 * field in `... on Mutation { }` does not hide it.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import busboy from 'busboy';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  getOperationAST,
  Kind,
  parse,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import type { Context } from 'hono';

export interface GraphqlCall {
  /** The field's name (not its alias). */
  field: string;
  /** Where its value is in the response's `data`: the alias, else the name. */
  key: string;
  /** Its arguments, variables filled in (files are left out). */
  args: Record<string, unknown>;
}

export interface GraphqlOperation {
  type: 'query' | 'mutation' | 'subscription';
  /** Root fields, each as often as the operation asks for it. */
  calls: GraphqlCall[];
}

interface Envelope {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

const seen = new WeakMap<Context, Promise<GraphqlOperation | undefined>>();

/**
 * The operation of this request (read once per request, whoever asks first); undefined when it is not a
 * GraphQL request this server would run (no query, a syntax error, a body over `maxBytes`).
 */
export function graphqlOperation(c: Context, maxBytes: number): Promise<GraphqlOperation | undefined> {
  let op = seen.get(c);
  if (!op) {
    op = envelope(c.req.raw, maxBytes)
      .then((e) => (e ? operationOf(e) : undefined))
      .catch(() => undefined);
    seen.set(c, op);
  }
  return op;
}

/** How many times the operation calls `field` at its root (0 when it is no operation). */
export const callsOf = (op: GraphqlOperation | undefined, field: string): number =>
  op ? op.calls.filter((f) => f.field === field).length : 0;

async function envelope(req: Request, maxBytes: number): Promise<Envelope | undefined> {
  if (req.method === 'GET') {
    const p = new URL(req.url).searchParams;
    const variables = p.get('variables');
    return {
      query: p.get('query'),
      operationName: p.get('operationName'),
      variables: variables && JSON.parse(variables),
    };
  }
  if (req.method !== 'POST' || !req.body) return undefined;
  const type = req.headers.get('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) return multipartOperations(req.clone(), type, maxBytes);
  const text = await readCapped(req.clone(), maxBytes);
  if (text === undefined) return undefined;
  if (type.startsWith('application/graphql') && !type.includes('json')) return { query: text };
  return JSON.parse(text) as Envelope;
}

/** The `operations` field of a GraphQL multipart request (graphql-multipart-request-spec), files skipped. */
function multipartOperations(req: Request, type: string, maxBytes: number): Promise<Envelope | undefined> {
  return new Promise((resolve, reject) => {
    const source = Readable.fromWeb(req.body as NodeWebStream<Uint8Array>);
    const bb = busboy({ headers: { 'content-type': type }, limits: { fieldSize: maxBytes } });
    let done = false;
    const finish = (v: Envelope | undefined, err?: unknown): void => {
      if (done) return;
      done = true;
      source.unpipe(bb);
      source.destroy(); // cancels the clone: the rest of the body goes to yoga only
      if (err) reject(err);
      else resolve(v);
    };
    bb.on('field', (name: string, value: string) => {
      if (name === 'operations') finish(JSON.parse(value) as Envelope);
    });
    bb.on('file', (_name: string, file: Readable) => file.resume());
    bb.on('close', () => finish(undefined));
    bb.on('error', (e: unknown) => finish(undefined, e));
    source.on('error', (e) => finish(undefined, e));
    // A body that puts its files before `operations` (against the spec) is read no further than the limit.
    let read = 0;
    source.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > maxBytes) finish(undefined);
    });
    source.pipe(bb);
  });
}

async function readCapped(req: Request, maxBytes: number): Promise<string | undefined> {
  const reader = (req.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function operationOf(e: Envelope): GraphqlOperation | undefined {
  if (typeof e !== 'object' || e === null || typeof e.query !== 'string') return undefined;
  const doc: DocumentNode = parse(e.query);
  const name = typeof e.operationName === 'string' && e.operationName ? e.operationName : undefined;
  const op = getOperationAST(doc, name);
  if (!op) return undefined;
  const variables =
    typeof e.variables === 'object' && e.variables !== null ? (e.variables as Record<string, unknown>) : {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const calls: GraphqlCall[] = [];
  const walk = (set: SelectionSetNode, depth: number): void => {
    if (depth > 10) return; // fragment cycles are a validation error: yoga runs nothing
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const args: Record<string, unknown> = {};
        for (const a of s.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value, variables);
        calls.push({ field: s.name.value, key: s.alias?.value ?? s.name.value, args });
      } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, depth + 1);
      else {
        const f = fragments.get(s.name.value);
        if (f) walk(f.selectionSet, depth + 1);
      }
    }
  };
  walk(op.selectionSet, 0);
  return { type: op.operation, calls };
}
