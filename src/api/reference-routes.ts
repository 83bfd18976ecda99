import type { FastifyInstance } from 'fastify';

// The OpenAPI document, generated from the routes' schemas, and a page that reads it to people:
// both public (they hold no data), served by the app itself, with no script and no CDN.

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  description?: string;
  format?: string;
  default?: unknown;
};
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
};
type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

// A schema as one short line: "string", "Case", "array of ThreadEntry", "one of: me, none".
export function describeType(schema: Schema | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').at(-1) ?? '';
  if (schema.enum) return `one of: ${schema.enum.map(String).join(', ')}`;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return alternatives.map(describeType).join(' or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  if (type === 'array') return `array of ${describeType(schema.items)}`;
  return [type, schema.format].filter(Boolean).join(', ') || 'any';
}

const fieldsOf = (schema: Schema | undefined) =>
  Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    type: describeType(s),
    required: schema?.required?.includes(name) ?? false,
    description: s.description ?? '',
  }));

export function referenceModel(doc: Document) {
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const body = op.requestBody?.content?.['application/json']?.schema;
      return {
        id: `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, '-'),
        method: method.toUpperCase(),
        path,
        summary: op.summary ?? '',
        description: op.description ?? '',
        tag: op.tags?.[0] ?? '',
        parameters: (op.parameters ?? []).map((p) => ({
          name: p.name,
          in: p.in,
          required: p.required ?? false,
          type: describeType(p.schema),
          description: p.description ?? p.schema?.description ?? '',
        })),
        body: body ? { type: describeType(body), fields: body.$ref ? [] : fieldsOf(body) } : null,
        responses: Object.entries(op.responses ?? {}).map(([status, r]) => ({
          status,
          type: describeType(r.content?.['application/json']?.schema),
        })),
      };
    }),
  );
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => ({
    name,
    description: s.description ?? '',
    fields: fieldsOf(s),
  }));
  return { operations, schemas };
}

export async function registerApiReferenceRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/openapi.json',
    { config: { public: true, rateLimit: false }, schema: { hide: true } as object },
    async (_request, reply) => reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
  app.get(
    '/reference',
    { config: { public: true, rateLimit: false }, schema: { hide: true } as object },
    async (_request, reply) => reply.view('api/reference', referenceModel(app.swagger() as Document)),
  );
}
