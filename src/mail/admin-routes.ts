import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  type FieldErrors,
  parseBigId,
  parseForm,
  parseQuery,
  queryText,
  rawForm,
  singleLine,
  typedValues,
} from '../forms/form.ts';
import { currentUser } from '../web/context.ts';
import { notFound } from '../web/errors.ts';
import { redirectAfterPost } from '../web/render.ts';
import { cancelMessage, retryMessage } from './outbound/outbox.ts';
import {
  findStoredMailSettings,
  isOutboxStatus,
  listOutbox,
  outboxStatuses,
  type StoredMailSettings,
} from './outbound/queries.ts';
import { type ConnectionCheck, checkSmtpConnection } from './outbound/sender.ts';
import { loadMailSettings, mailSettingsSchema, parseSmtpUrl, saveMailSettings } from './outbound/settings.ts';
import { queueTestMail } from './outbound/system-mail.ts';

type Body = Record<string, string | undefined>;
type IdParams = { id: string };

const outboxQuerySchema = z.object({ status: queryText, page: queryText });
const backSchema = z.object({ back: z.string().optional() });
const testMailSchema = z.object({ test_to: singleLine().pipe(z.email('errors.email')) });

function formValues(stored: StoredMailSettings): Body {
  return {
    smtp_host: stored.smtp_host ?? '',
    smtp_port: stored.smtp_port === null ? '' : String(stored.smtp_port),
    smtp_security: stored.smtp_security,
    smtp_user: stored.smtp_user ?? '',
    from_name: stored.from_name,
    from_address: stored.from_address,
    reply_to_address: stored.reply_to_address ?? '',
    subject_tag: stored.subject_tag,
  };
}

type TestResult = { to: string; host: string | null; check: ConnectionCheck | null };

type SettingsPage = {
  values?: Body;
  errors?: FieldErrors;
  testValues?: Body;
  testErrors?: FieldErrors;
  testResult?: TestResult;
};

// Outgoing mail settings and the outbox, under the administration's gate (src/admin/routes.ts).
export async function registerMailAdminRoutes(app: FastifyInstance): Promise<void> {
  const { db, config } = app.deps;

  async function showSettings(request: FastifyRequest, reply: FastifyReply, page: SettingsPage, status = 200) {
    const stored = await findStoredMailSettings(db);
    // From SMTP_URL only what the form may show: never its password.
    const environment = config.smtpUrl ? parseSmtpUrl(config.smtpUrl) : null;
    return reply.code(status).view('admin/mail/settings', {
      // The password is never sent back, not even as typed.
      values: { ...(page.values ?? formValues(stored)), smtp_password: '' },
      errors: page.errors ?? {},
      hasPassword: stored.has_password,
      environment: environment && {
        host: environment.host,
        port: environment.port,
        security: environment.security,
        user: environment.user,
      },
      testValues: page.testValues ?? { test_to: currentUser(request).email ?? '' },
      testErrors: page.testErrors ?? {},
      testResult: page.testResult ?? null,
    });
  }

  app.get('/mail', async (request, reply) => showSettings(request, reply, {}));

  app.post('/mail', async (request, reply) => {
    const body = typedValues(request.body);
    let input: unknown = request.body;
    if (config.smtpUrl) {
      // The environment decides the server: the stored server fields stay as they are.
      const stored = formValues(await findStoredMailSettings(db));
      input = {
        ...rawForm(request.body),
        smtp_host: stored.smtp_host,
        smtp_port: stored.smtp_port,
        smtp_security: stored.smtp_security,
        smtp_user: stored.smtp_user,
        smtp_password: '',
        clear_password: undefined,
      };
    }
    const form = parseForm(mailSettingsSchema, input);
    if (!form.ok) return showSettings(request, reply, { values: body, errors: form.errors }, 422);
    await saveMailSettings(db, form.data);
    // Mail that waited for a server may go now.
    app.deps.mailSender?.kick();
    return redirectAfterPost(request, reply, '/admin/mail', request.t('common.saved'));
  });

  // Queues a test message like any other mail, and meanwhile asks the server directly, so the
  // administrator sees at once whether the settings work, in the server's own words.
  app.post('/mail/test', async (request, reply) => {
    const testValues = { test_to: typedValues(request.body).test_to ?? '' };
    const form = parseForm(testMailSchema, request.body);
    if (!form.ok) return showSettings(request, reply, { testValues, testErrors: form.errors }, 422);
    await queueTestMail(db, config, { to: form.data.test_to, actor: currentUser(request), language: request.lang });
    app.deps.mailSender?.kick();
    const { smtp } = await loadMailSettings(db, config);
    const check = smtp ? await checkSmtpConnection(smtp) : null;
    return showSettings(request, reply, {
      testValues,
      testResult: { to: form.data.test_to, host: smtp?.host ?? null, check },
    });
  });

  app.get('/outbox', async (request, reply) => {
    const query = parseQuery(outboxQuerySchema, request.query);
    const status = isOutboxStatus(query.status) ? query.status : null;
    const page = /^[1-9]\d{0,5}$/.test(query.page ?? '') ? Number(query.page) : 1;
    const { rows, hasMore } = await listOutbox(db, { status, page });
    return reply.view('admin/mail/outbox', { rows, hasMore, status, page, statuses: outboxStatuses });
  });

  // Back to the list as it was (filter and page), never anywhere else.
  const backTo = (body: unknown) => {
    const form = parseForm(backSchema, body);
    const back = form.ok ? (form.data.back ?? '') : '';
    return /^\/admin\/outbox(\?[\w=&%-]*)?$/.test(back) ? back : '/admin/outbox';
  };
  const outboxId = (request: FastifyRequest<{ Params: IdParams }>) => {
    const id = parseBigId(request.params.id);
    if (!id) throw notFound();
    return id;
  };

  app.post<{ Params: IdParams }>('/outbox/:id/retry', async (request, reply) => {
    const queued = await retryMessage(db, outboxId(request));
    if (queued) app.deps.mailSender?.kick();
    const message = request.t(queued ? 'mailadmin.retried' : 'mailadmin.unchanged');
    return redirectAfterPost(request, reply, backTo(request.body), message);
  });

  app.post<{ Params: IdParams }>('/outbox/:id/cancellation', async (request, reply) => {
    const cancelled = await cancelMessage(db, outboxId(request));
    const message = request.t(cancelled ? 'mailadmin.cancelled' : 'mailadmin.unchanged');
    return redirectAfterPost(request, reply, backTo(request.body), message);
  });
}
