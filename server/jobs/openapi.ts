/**
 * OpenAPI 3.1 description of the developer and verifier REST API, served at /openapi.json with Swagger UI
 * at /docs. Request schemas come from the zod contracts in schema/api.ts (z.toJSONSchema), so the document
 * cannot drift from what the server validates.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { Hono } from 'hono';
import { z } from 'zod';
import { modelMetadataFields, trainingParams } from '../../schema/api.ts';
import type { AppEnv } from '../context.ts';

const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = {
  '400': { description: 'Invalid request: the failing fields are named', ...json(ref('ApiError')) },
  '401': { description: 'Missing or unknown token (when auth is on)', ...json(ref('ApiError')) },
  '404': { description: 'No such job', ...json(ref('ApiError')) },
};
const idParam = { name: 'job_id', in: 'path', required: true, schema: { type: 'string' } };

function toSchema(s: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

export function openApiDocument(): Record<string, unknown> {
  const metadata = toSchema(modelMetadataFields);
  const params = toSchema(trainingParams);
  const modelForm = {
    type: 'object',
    required: ['model', 'dataset', 'dataset_definition', 'framework'],
    properties: {
      model: { type: 'string', format: 'binary', description: '.keras file, TF.js model.json, or a .zip of a TF.js model (model.json + weights)' },
      dataset: { type: 'string', format: 'binary', description: '.csv (tabular), .zip (image class folders) or .tfrecord' },
      dataset_definition: { type: 'string', format: 'binary', description: 'YAML or JSON: input_shape, output_shape, columns, label, preprocessing' },
      framework: { type: 'string', example: 'tensorflow', description: 'tensorflow | tfjs | keras (e.g. "TensorFlow 2.16.1")' },
      gpu: { type: 'string', enum: ['true', 'false'], description: 'ask for a GPU (docker runner)' },
      ...(metadata.properties as object),
      ...(params.properties as object),
    },
  };
  const imageForm = {
    type: 'object',
    required: ['image'],
    properties: {
      image: { type: 'string', description: 'trainer image reference (from this registry, or present in the engine)' },
      command: { type: 'string', description: 'JSON array of strings, or a whitespace-separated command line' },
      framework: { type: 'string', default: 'any' },
      inputs: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'files placed at /input/<name>' },
      ...(metadata.properties as object),
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'AIBoMGen-TS',
      version: '0.1.0',
      description: 'Trusted AI training: submit jobs, follow them, fetch artifacts; verify published models. The OCI registry is at /v2/ and GraphQL at /graphql.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'only when the server runs with AIBOMGEN_TOKENS' } },
      schemas: {
        ApiError: {
          type: 'object',
          required: ['error', 'detail'],
          properties: { error: { type: 'string' }, detail: { type: 'string' }, fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } } },
        },
        Job: {
          type: 'object',
          required: ['job_id', 'status', 'id', 'state', 'owner', 'framework', 'createdAt'],
          properties: {
            job_id: { type: 'string' },
            status: { type: 'string', enum: ['queued', 'running', 'attesting', 'publishing', 'succeeded', 'failed', 'cancelled'] },
            id: { type: 'string' },
            state: { type: 'string' },
            reason: { type: 'string' },
            owner: { type: 'string' },
            framework: { type: 'string' },
            params: { type: 'object' },
            metadata: metadata,
            inputs: { type: 'array', items: { type: 'object', properties: { role: { type: 'string' }, name: { type: 'string' }, digest: { type: 'string' }, size: { type: 'integer' } } } },
            runner: { type: 'object', properties: { kind: { type: 'string' }, isolated: { type: 'boolean' }, image: { type: 'string' }, imageDigest: { type: 'string' }, runtime: { type: 'string' } } },
            createdAt: { type: 'string', format: 'date-time' },
            startedAt: { type: 'string', format: 'date-time' },
            finishedAt: { type: 'string', format: 'date-time' },
            publication: { type: 'object', properties: { ref: { type: 'string' }, repository: { type: 'string' }, tag: { type: 'string' }, digest: { type: 'string' } } },
            metrics: { type: 'object' },
          },
        },
      },
    },
    security: [{}, { bearer: [] }],
    paths: {
      '/developer/submit_job_by_model_and_data': {
        post: {
          summary: 'Train an uploaded model on an uploaded dataset (the seed flow)',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: modelForm } } },
          responses: { '202': { description: 'Queued', ...json(ref('Job')) }, ...errors, '413': { description: 'Upload over the limit', ...json(ref('ApiError')) }, '422': { description: 'Unsupported framework, or the definition does not match the dataset', ...json(ref('ApiError')) } },
        },
      },
      '/developer/submit_job_by_image': {
        post: {
          summary: 'Run a trainer image with a command on uploaded inputs (/input read-only, /output)',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: imageForm } } },
          responses: { '202': { description: 'Queued', ...json(ref('Job')) }, ...errors, '413': { description: 'Upload over the limit', ...json(ref('ApiError')) }, '422': { description: 'No container engine', ...json(ref('ApiError')) } },
        },
      },
      '/developer/job_status/{job_id}': { get: { summary: 'A job', parameters: [idParam], responses: { '200': { description: 'The job', ...json(ref('Job')) }, ...errors } } },
      '/developer/jobs': {
        get: {
          summary: 'Jobs, newest first, paged',
          parameters: [
            { name: 'owner', in: 'query', schema: { type: 'string' } },
            { name: 'state', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'after', in: 'query', schema: { type: 'string' }, description: 'the `next` cursor of the previous page' },
          ],
          responses: { '200': { description: 'A page', ...json({ type: 'object', properties: { items: { type: 'array', items: ref('Job') }, next: { type: 'string' } } }) }, ...errors },
        },
      },
      '/developer/jobs/{job_id}/cancel': { post: { summary: 'Cancel a queued or running job', parameters: [idParam], responses: { '200': { description: 'The job', ...json(ref('Job')) }, '409': { description: 'Too late: being published', ...json(ref('ApiError')) }, ...errors } } },
      '/developer/job_artifacts/{job_id}': {
        get: {
          summary: 'Files the trainer wrote',
          parameters: [idParam],
          responses: { '200': { description: 'Artifacts', ...json({ type: 'object', properties: { job_id: { type: 'string' }, artifacts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, size: { type: 'integer' }, digest: { type: 'string' } } } } } }) }, ...errors },
        },
      },
      '/developer/job_artifacts/{job_id}/{artifact_name}': {
        get: { summary: 'Stream one artifact', parameters: [idParam, { name: 'artifact_name', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'The file', content: { 'application/octet-stream': {} } }, ...errors } },
      },
      '/developer/jobs/{job_id}/events': {
        get: {
          summary: 'Live job events (Server-Sent Events): state changes and epoch progress; ends after the final state',
          parameters: [idParam, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
          responses: { '200': { description: 'event: state|epoch|batch|log, id: seq, data: JobEvent JSON', content: { 'text/event-stream': {} } }, ...errors },
        },
      },
      '/developer/jobs/{job_id}/logs': { get: { summary: "The trainer's stdout and stderr", parameters: [idParam], responses: { '200': { description: 'Logs', content: { 'text/plain': {} } }, ...errors } } },
      '/verifier/verify/{ref}': {
        get: {
          summary: 'Verify a published model: in-toto link, layout, AIBoM signature and digests, provenance',
          parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' }, example: 'models/iris:1.0.0' }],
          responses: { '200': { description: 'Verified' }, '422': { description: 'Not verified: the failing checks say why' } },
        },
      },
    },
  };
}

/** Swagger UI's two files, served from the installed swagger-ui-dist: /docs works without internet access. */
const SWAGGER_ASSETS: Record<string, string> = { 'swagger-ui.css': 'text/css; charset=utf-8', 'swagger-ui-bundle.js': 'text/javascript; charset=utf-8' };
const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

export function mountOpenApi(app: Hono<AppEnv>): void {
  const doc = openApiDocument();
  app.get('/openapi.json', (c) => c.json(doc));
  // @hono/swagger-ui appends /swagger-ui-dist/<file> to baseUrl (its default is a CDN).
  app.get('/docs', swaggerUI({ url: '/openapi.json', baseUrl: '/docs/assets' }));
  app.get('/docs/assets/swagger-ui-dist/:file', async (c) => {
    const file = c.req.param('file');
    const type = SWAGGER_ASSETS[file];
    if (!type) return c.notFound();
    c.header('Content-Type', type);
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(await readFile(join(swaggerDir, file)));
  });
}
