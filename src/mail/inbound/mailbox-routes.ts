import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type FieldErrors,
  FormError,
  inactiveQuerySchema,
  parseActivation,
  parseForm,
  parseId,
  parseQuery,
  typedValues,
} from '../../forms/form.ts';
import { notFound } from '../../web/errors.ts';
import { redirectAfterPost } from '../../web/render.ts';
import { checkImapConnection, type ImapCheck } from './fetch.ts';
import {
  createMailbox,
  findMailbox,
  imapAccountFromInput,
  listMailboxes,
  loadMailboxFormOptions,
  type Mailbox,
  type MailboxFormValues,
  mailboxFormValues,
  mailboxSchema,
  newMailboxValues,
  setMailboxActive,
  updateMailbox,
} from './mailboxes.ts';

type Params = { id: string };
type TestResult = { host: string; folder: string; check: ImapCheck };

// Administration → Mailboxes: the IMAP accounts Read mail reads. Under the administration's gate
// (src/admin/routes.ts), so every route here is for administrators only.
export async function registerMailboxRoutes(app: FastifyInstance): Promise<void> {
  const { db } = app.deps;

  async function loadMailbox(request: FastifyRequest<{ Params: Params }>): Promise<Mailbox> {
    const id = parseId(request.params.id);
    const mailbox = id === null ? undefined : await findMailbox(db, id);
    if (!mailbox) throw notFound();
    return mailbox;
  }

  async function showForm(
    reply: FastifyReply,
    data: { mailbox?: Mailbox; values: MailboxFormValues; errors: FieldErrors; testResult?: TestResult },
    status = 200,
  ) {
    const { mailbox } = data;
    return reply.code(status).view('admin/mailboxes/form', {
      // The password is never sent back, not even as typed.
      values: { ...data.values, imap_password: '' },
      errors: data.errors,
      testResult: data.testResult ?? null,
      options: await loadMailboxFormOptions(db),
      mailboxId: mailbox?.id ?? null,
      mailboxName: mailbox?.name ?? null,
      active: mailbox?.active ?? true,
      hasPassword: Boolean(mailbox?.imap_password_encrypted),
      lastReadAt: mailbox?.last_read_at ?? null,
      lastError: mailbox?.last_error ?? null,
      action: mailbox ? `/admin/mailboxes/${mailbox.id}` : '/admin/mailboxes',
    });
  }

  // Saves, or on a field error shows the form again with what was typed.
  async function save(request: FastifyRequest, reply: FastifyReply, mailbox?: Mailbox) {
    const body = typedValues(request.body);
    const form = parseForm(mailboxSchema, request.body);
    if (!form.ok) return showForm(reply, { mailbox, values: body, errors: form.errors }, 422);
    try {
      const saved = mailbox ? await updateMailbox(db, mailbox, form.data) : await createMailbox(db, form.data);
      if (!saved) throw notFound();
      return redirectAfterPost(request, reply, `/admin/mailboxes/${saved.id}`, request.t('common.saved'));
    } catch (error) {
      if (!(error instanceof FormError)) throw error;
      return showForm(reply, { mailbox, values: body, errors: error.fields }, 422);
    }
  }

  // "Test connection" tries the values in the form, saved or not; an empty password field means
  // the stored password. Nothing is saved.
  async function testConnection(request: FastifyRequest, reply: FastifyReply, mailbox?: Mailbox) {
    const body = typedValues(request.body);
    const form = parseForm(mailboxSchema, request.body);
    if (!form.ok) return showForm(reply, { mailbox, values: body, errors: form.errors }, 422);
    const account = await imapAccountFromInput(db, form.data, mailbox);
    if (!account.password) {
      return showForm(reply, { mailbox, values: body, errors: { imap_password: 'errors.required' } }, 422);
    }
    const check = await checkImapConnection(account);
    const testResult = { host: `${account.host}:${account.port}`, folder: account.folder, check };
    return showForm(reply, { mailbox, values: body, errors: {}, testResult });
  }

  app.get('/', async (request, reply) => {
    const includeInactive = parseQuery(inactiveQuerySchema, request.query).inactive === '1';
    return reply.view('admin/mailboxes/index', {
      mailboxes: await listMailboxes(db, { includeInactive }),
      includeInactive,
    });
  });

  app.get('/new', async (_request, reply) => showForm(reply, { values: { ...newMailboxValues }, errors: {} }));
  app.post('/', async (request, reply) => save(request, reply));
  app.post('/connection-test', async (request, reply) => testConnection(request, reply));

  app.get<{ Params: Params }>('/:id', async (request, reply) => {
    const mailbox = await loadMailbox(request);
    return showForm(reply, { mailbox, values: mailboxFormValues(mailbox), errors: {} });
  });
  app.post<{ Params: Params }>('/:id', async (request, reply) => save(request, reply, await loadMailbox(request)));
  app.post<{ Params: Params }>('/:id/connection-test', async (request, reply) =>
    testConnection(request, reply, await loadMailbox(request)),
  );

  // Activation is a sub-resource: POST active=1 to activate, active=0 to deactivate.
  app.post<{ Params: Params }>('/:id/activation', async (request, reply) => {
    const mailbox = await loadMailbox(request);
    await setMailboxActive(db, mailbox.id, parseActivation(request.body));
    return redirectAfterPost(request, reply, `/admin/mailboxes/${mailbox.id}`, request.t('common.saved'));
  });
}
