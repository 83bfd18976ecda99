import type { FastifyInstance, FastifyReply } from 'fastify';
import { type FieldErrors, FormError, parseBigId, parseForm, parseId, typedList, typedValues } from '../forms/form.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import {
  createWebhook,
  deleteWebhook,
  findWebhook,
  listDeliveries,
  listWebhooks,
  queueTestDelivery,
  redeliver,
  updateWebhook,
  webhookEvents,
  webhookSchema,
} from './webhooks.ts';

type Body = Record<string, string | string[] | undefined>;
type Values = Record<string, string | string[]>;

// Administration → Webhooks (under /admin, whose hook lets administrators only).
export async function registerWebhookRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;
  const allowList = config.webhookAllowedAddresses;

  const showForm = (reply: FastifyReply, values: Values, errors: FieldErrors, id: number | null, status = 200) =>
    reply.code(status).view('admin/webhooks/form', { values, errors, id, events: webhookEvents });
  const valuesOf = (body: unknown): Values => ({ ...typedValues(body, ['events']), events: typedList(body, 'events') });
  const findOr404 = async (idText: string) => {
    const id = parseId(idText);
    const hook = id ? await findWebhook(db, id) : undefined;
    if (!hook) throw notFound();
    return hook;
  };

  app.get('/', async (_request, reply) => reply.view('admin/webhooks/index', { webhooks: await listWebhooks(db) }));

  app.get('/new', async (_request, reply) => showForm(reply, { active: 'on', events: ['case.created'] }, {}, null));

  app.post<{ Body: Body }>('/', async (request, reply) => {
    const form = parseForm(webhookSchema, request.body);
    if (!form.ok) return showForm(reply, valuesOf(request.body), form.errors, null, 422);
    try {
      const { id } = await createWebhook(db, form.data, request.user?.id ?? 0, allowList);
      return redirectAfterPost(request, reply, `/admin/webhooks/${id}`, request.t('webhooks.created'));
    } catch (error) {
      if (error instanceof FormError) return showForm(reply, valuesOf(request.body), error.fields, null, 422);
      throw error;
    }
  });

  app.get<{ Params: { id: string } }>('/:id', async (request, reply) => {
    const hook = await findOr404(request.params.id);
    return reply.view('admin/webhooks/show', {
      hook,
      deliveries: await listDeliveries(db, hook.id),
      values: { url: hook.url, description: hook.description, active: hook.active ? 'on' : '', events: hook.events },
      errors: {},
      events: webhookEvents,
    });
  });

  app.post<{ Params: { id: string }; Body: Body }>('/:id', async (request, reply) => {
    const hook = await findOr404(request.params.id);
    const form = parseForm(webhookSchema, request.body);
    const refused = async (errors: FieldErrors) =>
      reply.code(422).view('admin/webhooks/show', {
        hook,
        deliveries: await listDeliveries(db, hook.id),
        values: valuesOf(request.body),
        errors,
        events: webhookEvents,
      });
    if (!form.ok) return refused(form.errors);
    try {
      await updateWebhook(db, hook.id, form.data, allowList);
    } catch (error) {
      if (error instanceof FormError) return refused(error.fields);
      throw error;
    }
    return redirectAfterPost(request, reply, `/admin/webhooks/${hook.id}`, request.t('common.saved'));
  });

  app.post<{ Params: { id: string } }>('/:id/deletion', async (request, reply) => {
    const hook = await findOr404(request.params.id);
    await deleteWebhook(db, hook.id);
    return redirectAfterPost(request, reply, '/admin/webhooks', request.t('webhooks.deleted'));
  });

  app.post<{ Params: { id: string } }>('/:id/test', async (request, reply) => {
    const hook = await findOr404(request.params.id);
    await queueTestDelivery(db, hook.id);
    return redirectAfterPost(request, reply, `/admin/webhooks/${hook.id}`, request.t('webhooks.test_queued'));
  });

  app.post<{ Params: { id: string; deliveryId: string } }>(
    '/:id/deliveries/:deliveryId/redelivery',
    async (request, reply) => {
      const hook = await findOr404(request.params.id);
      const deliveryId = parseBigId(request.params.deliveryId);
      if (!deliveryId) throw notFound();
      const queued = await redeliver(db, hook.id, deliveryId);
      return redirectAfterPost(
        request,
        reply,
        `/admin/webhooks/${hook.id}`,
        request.t(queued ? 'webhooks.redelivery_queued' : 'webhooks.redelivery_busy'),
      );
    },
  );
}
