/**
 * OpenAPI 3.1 description of the developer and verifier REST API, served at /openapi.json with Swagger UI
 * at /docs. Request and response schemas come from the zod contracts in schema/ (z.toJSONSchema), so the
 * document cannot drift from them; test/schema/openapi-routes.test.ts holds its paths to the app's routes.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { swaggerUI } from '@hono/swagger-ui';
import type { Hono } from 'hono';
import { z } from 'zod';
import {
  ApiError,
  ArtifactListResponse,
  BomAndLinkVerification,
  FileHashVerification,
  JobListQuery,
  JobListResponse,
  JobResponse,
  modelMetadataFields,
  trainingParams,
} from '../../schema/api.ts';
import { GpuRequest, JobEvent, JobState, ModelMetadata, Publication, RunnerInfo } from '../../schema/jobs.ts';
import {
  InTotoVerification,
  VerificationReport,
  VerifyArtifactsRequest,
  VerifyBomAndLinkRequest,
  VerifyLinkRequest,
} from '../../schema/verification.ts';
import { tokenPaths } from '../auth/openapi.ts';
import { workerKeyPaths } from '../attest/openapi.ts';
import type { AppEnv } from '../context.ts';

type Json = Record<string, unknown>;

/**
 * Named components: zod emits a $ref wherever one of these appears inside another. `io: 'input'` keeps
 * objects open (no additionalProperties: false), so a client reading a response tolerates added fields.
 */
const components = {
  ApiError,
  Job: JobResponse,
  JobList: JobListResponse,
  JobState,
  JobEvent,
  ModelMetadata,
  RunnerInfo,
  Publication,
  ArtifactList: ArtifactListResponse,
  VerificationReport,
  InTotoVerification,
  BomAndLinkVerification,
  FileHashVerification,
  VerifyLinkRequest,
  VerifyBomAndLinkRequest,
  VerifyArtifactsRequest,
};

function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(components)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, s]) => [id, strip(s as Json)]));
}

/** A stand-alone JSON Schema (no $ref into components), for form fields and query parameters. */
function toSchema(s: z.ZodType): Json {
  return strip(z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json);
}

function strip({ $schema: _s, $id: _i, ...rest }: Json): Json {
  return rest;
}

const ref = (name: keyof typeof components) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof components, description: string) => ({
  description,
  content: { 'application/json': { schema: ref(name) } },
});
const jsonBody = (name: keyof typeof components) => ({
  required: true,
  content: { 'application/json': { schema: ref(name) } },
});
const errors = {
  '400': json('ApiError', 'Invalid request: the failing fields are named'),
  '401': json('ApiError', 'Missing or unknown token (when auth is on)'),
  '404': json('ApiError', 'No such job'),
};
const idParam = { name: 'job_id', in: 'path', required: true, schema: { type: 'string' } };

/** Query parameters from an object schema: one per property, its description lifted to the parameter. */
function queryParams(s: z.ZodObject): Json[] {
  const { properties = {}, required = [] } = toSchema(s) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(properties).map(([name, { description, ...schema }]) => ({
    name,
    in: 'query',
    ...(required.includes(name) ? { required: true } : {}),
    schema,
    ...(description ? { description } : {}),
  }));
}

/** The verifier's answers: 200 when verified, 422 (same body) when not, 400 for a malformed request. */
function verdict(name: keyof typeof components): Json {
  return {
    '200': json(name, 'Verified'),
    '422': json(name, 'Not verified: the failing checks say why'),
    '400': json('ApiError', 'Invalid request'),
  };
}

/** The `gpu` form field of both flows: its text form (schema/jobs.ts gpuField) and the request it stands for. */
const gpuProperty = {
  type: 'string',
  examples: ['true', '2', '0,1', '["GPU-3f2a…"]'],
  description:
    'GPUs for the job (docker runner DeviceRequests): true/all, a count, or device ids (comma-separated or a JSON array). ' +
    `Parsed as ${JSON.stringify(z.toJSONSchema(GpuRequest))}. Refused (422) when no worker has that many GPUs.`,
};

export function openApiDocument(): Json {
  const metadata = toSchema(modelMetadataFields);
  const params = toSchema(trainingParams);
  // Multipart forms: the file parts are spelled here; every text field comes from the zod schemas.
  const modelForm = {
    type: 'object',
    required: ['model', 'dataset', 'dataset_definition', 'framework'],
    properties: {
      model: {
        type: 'string',
        format: 'binary',
        description: '.keras file, TF.js model.json, or a .zip of a TF.js model (model.json + weights)',
      },
      dataset: {
        type: 'string',
        format: 'binary',
        description: '.csv (tabular), .zip (image class folders) or .tfrecord',
      },
      dataset_definition: {
        type: 'string',
        format: 'binary',
        description: 'YAML or JSON: input_shape, output_shape, columns, label, preprocessing',
      },
      framework: {
        type: 'string',
        example: 'tensorflow',
        description:
          'tensorflow | tfjs | keras (e.g. "TensorFlow 2.16.1"). `keras` runs the Keras trainer (Keras 3 on JAX); the others the TF.js trainer',
      },
      gpu: gpuProperty,
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
      gpu: gpuProperty,
      inputs: {
        type: 'array',
        items: { type: 'string', format: 'binary' },
        description: 'files placed at /input/<name>',
      },
      ...(metadata.properties as object),
    },
  };
  const fileHashForm = {
    type: 'object',
    required: ['file', 'expected_hash'],
    properties: {
      file: { type: 'string', format: 'binary' },
      expected_hash: { type: 'string', description: 'hex SHA-256 (64 characters, optionally prefixed sha256:)' },
    },
  };
  const job = (description: string) => json('Job', description);
  const artifactsCheck = {
    summary: "Re-hash the stored artifacts a published model's link names, against the registry",
    requestBody: jsonBody('VerifyArtifactsRequest'),
    responses: verdict('VerificationReport'),
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'AIBoMGen-TS',
      version: '0.1.0',
      description:
        'Trusted AI training: submit jobs, follow them, fetch artifacts; verify published models. The OCI registry is at /v2/ and GraphQL at /graphql.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'an API token (aibomgen tokens create; the first start leaves one in data/keys/admin.token) or one of AIBOMGEN_TOKENS; not needed with AIBOMGEN_AUTH=off',
        },
      },
      schemas: componentSchemas(),
    },
    security: [{}, { bearer: [] }],
    paths: {
      '/developer/submit_job_by_model_and_data': {
        post: {
          summary: 'Train an uploaded model on an uploaded dataset (the seed flow)',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: modelForm } } },
          responses: {
            '202': job('Queued'),
            ...errors,
            '413': json('ApiError', 'Upload over the limit'),
            '422': json('ApiError', 'Unsupported framework, or the definition does not match the dataset'),
          },
        },
      },
      '/developer/submit_job_by_image': {
        post: {
          summary: 'Run a trainer image with a command on uploaded inputs (/input read-only, /output)',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: imageForm } } },
          responses: {
            '202': job('Queued'),
            ...errors,
            '413': json('ApiError', 'Upload over the limit'),
            '422': json('ApiError', 'No container engine'),
          },
        },
      },
      '/developer/job_status/{job_id}': {
        get: { summary: 'A job', parameters: [idParam], responses: { '200': job('The job'), ...errors } },
      },
      '/developer/jobs': {
        get: {
          summary: 'Jobs, newest first, paged',
          parameters: queryParams(JobListQuery),
          responses: { '200': json('JobList', 'A page'), ...errors },
        },
      },
      '/developer/jobs/{job_id}/cancel': {
        post: {
          summary: 'Cancel a queued or running job',
          parameters: [idParam],
          responses: { '200': job('The job'), '409': json('ApiError', 'Too late: being published'), ...errors },
        },
      },
      '/developer/job_artifacts/{job_id}': {
        get: {
          summary: 'Files the trainer wrote',
          parameters: [idParam],
          responses: { '200': json('ArtifactList', 'Artifacts'), ...errors },
        },
      },
      '/developer/job_artifacts/{job_id}/{artifact_name}': {
        get: {
          summary: 'Stream one artifact',
          parameters: [idParam, { name: 'artifact_name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': { description: 'The file', content: { 'application/octet-stream': {} } }, ...errors },
        },
      },
      '/developer/jobs/{job_id}/events': {
        get: {
          summary: 'Live job events (Server-Sent Events): state changes and epoch progress; ends after the final state',
          parameters: [idParam, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
          responses: {
            '200': {
              description:
                'event: state|epoch|batch|log, id: seq, data: a JobEvent (#/components/schemas/JobEvent) as JSON',
              content: { 'text/event-stream': {} },
            },
            ...errors,
          },
        },
      },
      '/developer/jobs/{job_id}/logs': {
        get: {
          summary: "The trainer's stdout and stderr",
          parameters: [idParam],
          responses: { '200': { description: 'Logs', content: { 'text/plain': {} } }, ...errors },
        },
      },
      ...tokenPaths(errors),
      ...workerKeyPaths(errors),
      '/verifier/verify/{ref}': {
        get: {
          summary: 'Verify a published model: in-toto link, layout, AIBoM signature and digests, provenance',
          parameters: [
            { name: 'ref', in: 'path', required: true, schema: { type: 'string' }, example: 'models/iris:1.0.0' },
          ],
          responses: verdict('VerificationReport'),
        },
      },
      '/verifier/verify_in-toto_link': {
        post: {
          summary: "Verify an in-toto link against a layout (default: the platform's layout and root key)",
          requestBody: jsonBody('VerifyLinkRequest'),
          responses: verdict('InTotoVerification'),
        },
      },
      '/verifier/verify_bom_and_link': {
        post: {
          summary: 'Verify a signed AIBoM and its in-toto link, and that the AIBoM names that link',
          requestBody: jsonBody('VerifyBomAndLinkRequest'),
          responses: verdict('BomAndLinkVerification'),
        },
      },
      '/verifier/verify_registry_artifacts': { post: artifactsCheck },
      '/verifier/verify_minio_artifacts': {
        post: { ...artifactsCheck, summary: "The seed's name of verify_registry_artifacts" },
      },
      '/verifier/verify_file_hash': {
        post: {
          summary: 'Check an uploaded file against an expected SHA-256',
          requestBody: { required: true, content: { 'multipart/form-data': { schema: fileHashForm } } },
          responses: verdict('FileHashVerification'),
        },
      },
    },
  };
}

/** Swagger UI's two files, served from the installed swagger-ui-dist: /docs works without internet access. */
const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};
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
