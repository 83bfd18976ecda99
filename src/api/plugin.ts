import { STATUS_CODES } from 'node:http';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { startApprovalIfRequired as startApproval } from '../approvals/chains.ts';
import type { ApiScope } from '../db/schema.ts';
import { translator } from '../i18n/i18n.ts';
import { registerApiCaseRoutes } from './case-routes.ts';
import { registerApiCaseWorkRoutes } from './case-work-routes.ts';
import { registerApiDirectoryRoutes } from './directory-routes.ts';
import { registerApiDocumentRoutes } from './document-routes.ts';
import { problem, sendProblem } from './problem.ts';
import { pgRateLimitStore } from './rate-limit-store.ts';
import { registerApiReferenceRoutes } from './reference-routes.ts';
import { apiPrefix } from './request.ts';
import { hasScope, requiredScope } from './scopes.ts';
import { authenticateApiToken } from './tokens.ts';

// The public REST API (issue 19), /api/v1: JSON in and out, bearer tokens instead of the
// browser's session (so no CSRF: a page's cookies open nothing here), errors as RFC 9457
// problems, a rate limit per token shared by all instances, and an OpenAPI 3.1 document
// generated from the routes' schemas. Its own scope: the app's session, CSRF and page hooks
// skip it (isApiUrl), and its parsers, hooks and error handler apply to it alone.

declare module 'fastify' {
  interface FastifyRequest {
    // the token a request came with; null on the public routes (the document, the reference)
    apiToken: { id: number; scopes: ApiScope[] } | null;
  }
  interface FastifyContextConfig {
    // an API route that needs more than its method says (requiredScope)
    scope?: ApiScope;
  }
}

const refusals = {
  malformed: 'The token is not one Casedesk made.',
  unknown: 'No such token.',
  revoked: 'The token was revoked.',
  expired: 'The token has expired; make a new one under My settings → API tokens.',
  inactive: "The token's user is deactivated.",
} as const;

const challenge = (error?: string) => ({
  'www-authenticate': `Bearer realm="casedesk"${error ? `, error="${error}"` : ''}`,
});

// Each response named by its status, and errors as what they are, application/problem+json (the
// route schemas say only what the body holds).
type OpenApiDocument = ReturnType<typeof jsonSchemaTransformObject>;
function describeResponses(doc: OpenApiDocument): OpenApiDocument {
  const paths = (
    doc as { paths?: Record<string, Record<string, { responses?: Record<string, Record<string, unknown>> }>> }
  ).paths;
  for (const operation of Object.values(paths ?? {}).flatMap((methods) => Object.values(methods))) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      response.description = STATUS_CODES[Number(status)] ?? status;
      const content = response.content as Record<string, { schema?: { $ref?: string } }> | undefined;
      const json = content?.['application/json'];
      if (Number(status) >= 400 && json) response.content = { 'application/problem+json': json };
      else if (json?.schema?.$ref?.endsWith('/File'))
        response.content = { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
    }
  }
  return doc;
}

export async function registerApi(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  const english = translator('en');

  await app.register(
    async (api) => {
      api.setValidatorCompiler(validatorCompiler);
      api.setSerializerCompiler(serializerCompiler);
      // JSON only: the forms' parsers (urlencoded, multipart) are the pages', not the API's.
      api.removeAllContentTypeParsers();
      api.addContentTypeParser('application/json', { parseAs: 'string' }, api.getDefaultJsonParser('error', 'error'));
      api.decorateRequest('apiToken', null);

      api.setErrorHandler((error, request, reply) => sendProblem(request, reply, error as Error));
      api.setNotFoundHandler((request, reply) =>
        sendProblem(request, reply, problem(404, `No route ${request.method} ${request.url.split('?')[0]}.`)),
      );

      api.addHook('onRequest', async (request) => {
        request.lang = 'en';
        request.t = english;
        if (request.routeOptions.config.public) return;
        const header = request.headers.authorization;
        const token = typeof header === 'string' ? /^Bearer +(\S+)$/i.exec(header)?.[1] : undefined;
        if (!token) {
          throw problem(
            401,
            'Send a token as Authorization: Bearer <token>; make one under My settings → API tokens.',
            {
              headers: challenge(),
            },
          );
        }
        const auth = await authenticateApiToken(db, token);
        if (!auth.ok) throw problem(401, refusals[auth.reason], { headers: challenge('invalid_token') });
        request.user = auth.user;
        request.apiToken = { id: auth.tokenId, scopes: auth.scopes };
        const needed = requiredScope(request.method, request.routeOptions.config.scope);
        if (!hasScope(auth.scopes, needed))
          throw problem(403, `This token does not have the ${needed} scope.`, {
            headers: challenge('insufficient_scope'),
          });
      });

      await api.register(fastifyRateLimit, {
        global: true,
        max: config.apiRateLimitPerMinute,
        timeWindow: 60_000,
        store: pgRateLimitStore(db),
        keyGenerator: (request) => (request.apiToken ? `token:${request.apiToken.id}` : `address:${request.ip}`),
        enableDraftSpec: true,
        errorResponseBuilder: (_request, context) =>
          problem(
            429,
            `Too many requests; this token may make ${context.max} a minute. Try again in ${context.after}.`,
          ),
      });

      await api.register(fastifySwagger, {
        openapi: {
          openapi: '3.1.0',
          info: {
            title: 'Casedesk API',
            version: '1',
            description:
              'Cases, their threads, customers and users. Authenticate with a personal access token (My settings → API tokens) as `Authorization: Bearer <token>`. Errors are RFC 9457 problems.',
          },
          servers: [{ url: config.publicUrl }],
          components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          security: [{ bearer: [] }],
        },
        transform: jsonSchemaTransform,
        transformObject: (documentObject) => describeResponses(jsonSchemaTransformObject(documentObject)),
      });

      await api.register(registerApiReferenceRoutes);
      await api.register(registerApiCaseRoutes);
      await api.register(registerApiCaseWorkRoutes);
      await api.register(registerApiDirectoryRoutes);
      await api.register(registerApiDocumentRoutes, { startApproval });
    },
    { prefix: apiPrefix },
  );
}
