import { type Json, jsonAnswer, jsonSchemaOf } from '../openapi-json.ts';
import { CreatedToken, CreateTokenRequest, TokenInfo, TokenList } from '../../schema/tokens.ts';

const schema = jsonSchemaOf;
const json = jsonAnswer;

/** The OpenAPI paths of `/developer/tokens` (server/auth/routes.ts); `errors` are the document's ApiError answers. */
export function tokenPaths(errors: Json): Json {
  return {
    '/developer/tokens': {
      post: {
        summary: 'Create a managed API token (the token is in this answer only; its hash is kept)',
        requestBody: { required: true, content: { 'application/json': { schema: schema(CreateTokenRequest) } } },
        responses: { '201': json(CreatedToken, 'Created'), ...errors, '403': errors['401'], '409': errors['401'] },
      },
      get: {
        summary: "Your tokens (an administrator: everyone's), newest first",
        responses: { '200': json(TokenList, 'Tokens'), ...errors },
      },
    },
    '/developer/tokens/{token_id}': {
      delete: {
        summary: 'Revoke a token: it stops working at once',
        parameters: [{ name: 'token_id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json(TokenInfo, 'The revoked token'), ...errors },
      },
    },
  };
}
