import { type Json, jsonAnswer, jsonSchemaOf } from '../openapi-json.ts';
import { LayoutChange, LayoutSetJson, LayoutVersion, WorkerKeyList } from '../../schema/worker-keys.ts';

const schema = jsonSchemaOf;
const json = jsonAnswer;
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string' },
});

/**
 * The OpenAPI paths of the worker keys and layouts (server/attest/worker-key-routes.ts); `errors` are the
 * document's ApiError answers.
 */
export function workerKeyPaths(errors: Json): Json {
  const ref = pathParam('ref', 'a key id (or a unique prefix of one), or a worker id with one live key');
  const change = (summary: string) => ({
    post: {
      summary,
      parameters: [ref],
      responses: { '200': json(LayoutChange, 'The key, and whether the layouts were re-signed'), ...errors },
    },
  });
  return {
    '/developer/admin/worker-keys': {
      get: {
        summary: "The workers' own signing keys and their state (administrators)",
        responses: { '200': json(WorkerKeyList, 'Keys'), ...errors },
      },
    },
    '/developer/admin/worker-keys/{ref}/approve': change(
      "Approve a worker's key: re-signs the layouts with it where the server holds the layout key",
    ),
    '/developer/admin/worker-keys/{ref}/revoke': change(
      "Revoke a worker's key: it takes no more jobs, and what it signed stops verifying",
    ),
    '/developer/admin/layout/draft': {
      get: {
        summary: 'The unsigned layouts the approved keys call for (sign offline: aibomgen keys sign-layout)',
        responses: { '200': json(LayoutSetJson, 'Unsigned layout bodies'), ...errors },
      },
    },
    '/developer/admin/layout': {
      put: {
        summary: 'Put layouts signed offline in force (checked against root.pub and the draft)',
        requestBody: { required: true, content: { 'application/json': { schema: schema(LayoutSetJson) } } },
        responses: { '200': json(LayoutVersion, 'The new version'), ...errors },
      },
    },
    '/verifier/layouts/{file}': {
      get: {
        summary: 'A layout in force: root.layout, train-platform.layout or train-image.layout',
        parameters: [pathParam('file', '<name>.layout')],
        responses: {
          '200': { description: 'The signed in-toto layout', content: { 'application/json': {} } },
          ...errors,
        },
      },
    },
    '/verifier/keys/{file}': {
      get: {
        summary: 'Public trust material: root.pub, root.intoto.json, platform.pub, <functionary key id>.pub',
        parameters: [pathParam('file', 'the file name')],
        responses: { '200': { description: 'A public key', content: { 'application/x-pem-file': {} } }, ...errors },
      },
    },
  };
}
