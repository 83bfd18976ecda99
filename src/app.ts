import { existsSync } from 'node:fs';
import path from 'node:path';
import qs from 'node:querystring';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifySession from '@fastify/session';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { registerAdminRoutes } from './admin/routes.ts';
import { registerApi } from './api/plugin.ts';
import { isApiUrl } from './api/request.ts';
import { registerTokenRoutes } from './api/token-routes.ts';
import { startApprovalIfRequired } from './approvals/chains.ts';
import { registerApprovalRoutes } from './approvals/routes.ts';
import { registerCaseLinkRoutes } from './case-links/routes.ts';
import { registerBulkRoutes } from './cases/bulk-routes.ts';
import { registerInternalNoteRoutes } from './cases/internal-routes.ts';
import { registerMergeRoutes } from './cases/merge-routes.ts';
import { registerOverviewRoutes } from './cases/overview-routes.ts';
import { registerCaseRoutes } from './cases/routes.ts';
import { registerSplitRoutes } from './cases/split-routes.ts';
import { type Config, fastifyTrustProxy } from './config.ts';
import { registerCustomerPageRoutes } from './customers/page-routes.ts';
import type { Db } from './db/database.ts';
import { loadSecret } from './db/secrets.ts';
import { registerDiscussionRoutes } from './discussions/routes.ts';
import { registerInlineImageRoutes } from './documents/image-routes.ts';
import { registerDocumentRoutes } from './documents/routes.ts';
import { registerDraftRoutes } from './drafts/routes.ts';
import { registerKontrollRoutes } from './kontroll/routes.ts';
import { registerLiveRoutes } from './live/routes.ts';
import { registerReadMailRoutes } from './mail/inbound/read-routes.ts';
import type { MailSender } from './mail/outbound/sender.ts';
import { countUnread } from './notifications/notifications.ts';
import { registerNotificationRoutes } from './notifications/routes.ts';
import { registerPresenceRoutes } from './presence/routes.ts';
import { registerReportRoutes } from './reports/routes.ts';
import { registerShortcutRoutes } from './shortcuts/routes.ts';
import { registerThreadRoutes } from './threads/routes.ts';
import { registerSendRoutes } from './threads/send-routes.ts';
import { registerAccountRoutes } from './users/account-routes.ts';
import { registerLoginRoutes } from './users/login-routes.ts';
import { findSessionUser } from './users/queries.ts';
import { isSessionCurrent } from './users/sessions.ts';
import { registerAssetCaching } from './web/assets.ts';
import { registerCompression } from './web/compression.ts';
import { setLanguage, viewContext } from './web/context.ts';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandlers } from './web/errors.ts';
import { registerHeaderGuard } from './web/header-guard.ts';
import { readMultipartCsrfField } from './web/multipart.ts';
import { safeRedirectTarget } from './web/redirect.ts';
import { isHtmx } from './web/render.ts';
import { PgSessionStore } from './web/session-store.ts';
import { registerWorkOrderRoutes } from './work-orders/routes.ts';

const root = appRoot();
const sessionTtlMs = 12 * 60 * 60 * 1000;
// A session's idle timeout moves forward at most this often: renewing it on every request (the
// plugin's "rolling" default) would write the session row, and wait for a commit, on each page.
const sessionRenewEveryMs = 10 * 60 * 1000;
const publicAssets = /^\/(static|vendor)\//;
const unsafeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type AppDeps = {
  config: Config;
  db: Db;
  // The outbox sender of this process, nudged after a request queued mail; absent in some tests.
  mailSender?: Pick<MailSender, 'kick'>;
};

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export async function buildApp(
  { config, db, mailSender }: AppDeps,
  // onRoute hears of every route as it is added (the tests that go over all routes use it).
  opts: { logger?: boolean; onRoute?: (route: RouteOptions) => void } = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger:
      opts.logger === false
        ? false
        : { level: config.logLevel, redact: ['req.headers.cookie', 'req.headers.authorization'] },
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: 1024 * 1024,
    frameworkErrors: frameworkErrorHandler(config),
    clientErrorHandler: clientErrorHandler(config),
  });
  app.decorate('deps', { config, db, mailSender });
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);

  // External plugins, in the order requests meet them.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Trix and htmx set style attributes on elements; no style sheets from elsewhere.
        styleSrc: ["'self'", "'unsafe-inline'"],
        // https: for the remote images of a customer's mail, which load only when the user asks
        // (public/mail-images.js); stored HTML never carries a remote <img> (sanitizeInboundMailHtml).
        imgSrc: ["'self'", 'data:', 'blob:', 'https:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        fontSrc: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    hsts: config.publicUrl.startsWith('https:'),
  });
  // Forms arrive urlencoded (or multipart, below). No page sends JSON or plain text, so those are
  // refused (415) rather than parsed into values that no form schema (forms/form.ts) expects.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  await app.register(fastifyFormbody, { parser: (body) => qs.parse(body) });
  // Multipart bodies stay unparsed until a handler streams them (see web/multipart.ts).
  await app.register(fastifyMultipart, { limits: { fileSize: config.maxUploadBytes, files: 20 } });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: config.sessionSecret ?? (await loadSecret(db, 'session')),
    cookieName: 'casedesk_session',
    store: new PgSessionStore(db, sessionTtlMs, (error) => app.log.error({ err: error }, 'session callback failed')),
    saveUninitialized: false,
    rolling: false,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
      maxAge: sessionTtlMs,
      path: '/',
    },
  });
  await app.register(fastifyCsrf, { sessionPlugin: '@fastify/session' });
  const vendorFiles = ['/htmx.min.js', '/trix.umd.min.js', '/trix.css'];
  const vendorDirs = [path.join(root, 'node_modules/htmx.org/dist'), path.join(root, 'node_modules/trix/dist')];
  registerAssetCaching(
    app,
    { '/static/': path.join(root, 'public'), '/vendor/': vendorDirs },
    { '/vendor/': vendorFiles.map((f) => f.slice(1)) },
  );
  registerCompression(app);
  await app.register(fastifyStatic, {
    root: path.join(root, 'public'),
    prefix: '/static/',
    maxAge: config.env === 'production' ? '1h' : 0,
  });
  // Front-end libraries are served from the app itself, never from a CDN.
  await app.register(fastifyStatic, {
    root: vendorDirs,
    prefix: '/vendor/',
    decorateReply: false,
    allowedPath: (pathName) => vendorFiles.includes(pathName),
    maxAge: config.env === 'production' ? '1d' : 0,
  });
  // Compiled templates are cached except in development, where an edited view shows on reload.
  const cacheTemplates = config.env !== 'development';
  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: path.join(root, 'views'), cache: cacheTemplates }) },
    production: cacheTemplates,
    root: path.join(root, 'views'),
  });

  // Our request pipeline: who is asking and in which language, then rights, then CSRF.
  app.decorateRequest('user', null);
  app.decorateRequest('lang', 'sv');
  app.decorateRequest('t', null as never);
  app.addHook('onRequest', async (request, reply) => {
    // The REST API has its own pipeline (src/api/plugin.ts): bearer tokens, not the session.
    if (isApiUrl(request.url)) return;
    const userId = request.session?.userId;
    if (userId) {
      const user = await findSessionUser(db, userId);
      if (user?.active && isSessionCurrent(user, request.session)) {
        request.user = user;
        const now = Date.now();
        if (now - (request.session.renewedAt ?? 0) > sessionRenewEveryMs) {
          // a changed session is saved, and its cookie sent again with the new expiry
          request.session.renewedAt = now;
          request.session.touch();
        }
      } else await request.session.destroy();
    }
    setLanguage(request, config);
    const isPublic = request.routeOptions.config.public || publicAssets.test(request.url);
    if (!request.user && !isPublic) {
      // Back here after the login, when "here" is an address a redirect may take.
      const here = request.method === 'GET' ? safeRedirectTarget(request.url, '') : '';
      const login = safeRedirectTarget(here ? `/login?next=${encodeURIComponent(here)}` : '/login', '/login');
      if (isHtmx(request)) return reply.header('HX-Redirect', login).code(401).send();
      if (request.method === 'GET') return reply.redirect(login, 303);
      return reply.code(401).type('text/plain; charset=utf-8').send(request.t('errors.forbidden'));
    }
  });
  // A multipart body is not parsed yet: its token comes from the header or its first field.
  app.addHook('preValidation', async (request) => {
    if (unsafeMethods.has(request.method) && !isApiUrl(request.url) && request.isMultipart())
      await readMultipartCsrfField(request);
  });
  app.addHook('preValidation', (request, reply, done) => {
    // a bearer token is not sent by a browser on its own, so the API needs no CSRF token
    if (unsafeMethods.has(request.method) && !isApiUrl(request.url)) return app.csrfProtection(request, reply, done);
    done();
  });
  app.addHook('preHandler', async (request, reply) => {
    if (isApiUrl(request.url)) return;
    // The bell's count is wanted on full pages only, not on htmx fragments or form posts.
    // Public routes (the health check, static files) show no page, even to a logged-in browser.
    const route = request.routeOptions.config;
    const wantsBell =
      request.user && request.method === 'GET' && !isHtmx(request) && !route.countsUnread && !route.public;
    const unread = wantsBell && request.user ? await countUnread(db, request.user.id) : 0;
    reply.locals = viewContext(request, reply, config, unread);
    // A form post that answers with a whole page (a refused form shown again, an error page) shows
    // the bell as a GET does: counted only when it renders, as most posts redirect.
    const user = request.user;
    if (user && request.method !== 'GET' && !isHtmx(request) && !route.public) {
      const view = reply.view.bind(reply) as (...args: unknown[]) => unknown;
      reply.view = (async (...args: unknown[]) => {
        if (reply.locals) reply.locals.unreadCount = await countUnread(db, user.id);
        return view(...args);
      }) as unknown as typeof reply.view;
    }
  });

  registerErrorHandlers(app, config);
  registerHeaderGuard(app);

  app.get('/favicon.ico', { config: { public: true } }, async (_request, reply) =>
    reply.redirect('/static/favicon.svg', 301),
  );
  app.get('/healthz', { config: { public: true } }, async (_request, reply) => {
    await db.selectNoFrom((eb) => eb.val(1).as('ok')).execute();
    return reply.send({ status: 'ok' });
  });
  await app.register(registerLoginRoutes);
  await app.register(registerAccountRoutes);
  await app.register(registerTokenRoutes);
  await app.register(registerOverviewRoutes);
  await app.register(registerCaseRoutes);
  await app.register(registerThreadRoutes);
  await app.register(registerSendRoutes);
  await app.register(registerDocumentRoutes, { startApproval: startApprovalIfRequired });
  await app.register(registerCustomerPageRoutes);
  await app.register(registerInlineImageRoutes);
  await app.register(registerDiscussionRoutes);
  await app.register(registerInternalNoteRoutes);
  await app.register(registerCaseLinkRoutes);
  await app.register(registerBulkRoutes);
  await app.register(registerMergeRoutes);
  await app.register(registerSplitRoutes);
  await app.register(registerLiveRoutes);
  await app.register(registerPresenceRoutes);
  await app.register(registerDraftRoutes);
  await app.register(registerNotificationRoutes);
  await app.register(registerShortcutRoutes);
  await app.register(registerReadMailRoutes);
  await app.register(registerKontrollRoutes);
  await app.register(registerApprovalRoutes);
  await app.register(registerReportRoutes);
  await app.register(registerWorkOrderRoutes);
  await app.register(registerAdminRoutes, { prefix: '/admin' });
  await registerApi(app);
  return app;
}

// The directory holding package.json, views/, public/ and node_modules/: the parent of src/ when
// run by tsx, two levels up from dist/src/ when run compiled.
function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}
