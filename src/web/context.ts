import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { newFormKey } from '../db/form-keys.ts';
import type { Language, User } from '../db/schema.ts';
import { type Formatters, formatters, languageFromHeader, type Translate, translator } from '../i18n/i18n.ts';
import { seededName } from '../i18n/seeded-names.ts';
import { unreadShownUpTo } from '../notifications/notifications.ts';
import { assetUrl } from './assets.ts';

declare module 'fastify' {
  interface Session {
    userId?: number;
    language?: Language;
    flash?: string;
    // when the idle timeout was last pushed forward (ms since the epoch); see app.ts
    renewedAt?: number;
  }
  interface FastifyRequest {
    user: User | null;
    lang: Language;
    t: Translate;
  }
  interface FastifyReply {
    // Read by @fastify/view and merged into every template's data.
    locals?: ViewContext;
  }
  interface FastifyContextConfig {
    // Routes reachable without logging in (login page, health check, static files).
    public?: boolean;
    // The route counts the bell's unread notifications itself, folded into a statement of its own
    // (the overview), and sets reply.locals.unreadCount; the request pipeline does not ask.
    countsUnread?: boolean;
  }
}

// The user's own setting, else what the browser asks for, else the configured default.
export function chooseLanguage(request: FastifyRequest, config: Config): Language {
  return (
    request.user?.language ??
    request.session?.language ??
    languageFromHeader(request.headers['accept-language']) ??
    config.defaultLanguage
  );
}

// Routes run after the login check, so a user is always there; this says so to the type checker.
export function currentUser(request: FastifyRequest): User {
  if (!request.user) throw Object.assign(new Error('Not logged in'), { statusCode: 401 });
  return request.user;
}

export type ViewContext = {
  user: User | null;
  lang: Language;
  t: Translate;
  fmt: Formatters;
  path: string;
  csrf: () => string;
  // a create form's one-time key (src/db/form-keys.ts), new with each rendering
  formKey: () => string;
  flash: () => string | null;
  unreadCount: number;
  // the bell shows "99+" from this count on (the count stops there)
  unreadShownUpTo: number;
  // a status, type, priority or category name as this reader sees it (seeded-names.ts)
  dataName: (name: string | null | undefined) => string;
  // a static file's URL with its content hash (web/assets.ts)
  asset: (url: string) => string;
};

export function viewContext(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Config,
  unreadCount = 0,
): ViewContext {
  return {
    unreadCount,
    unreadShownUpTo,
    user: request.user,
    lang: request.lang,
    t: request.t,
    fmt: formatters(request.lang, config.timeZone),
    path: request.url,
    dataName: (name) => (name ? seededName(name, request.lang) : ''),
    asset: assetUrl,
    csrf: () => reply.generateCsrf(),
    formKey: newFormKey,
    // Read once by the layout, so a message shows on the page after a redirect and then goes.
    flash: () => {
      const message = request.session?.flash ?? null;
      if (message) request.session.flash = undefined;
      return message;
    },
  };
}

export function setLanguage(request: FastifyRequest, config: Config): void {
  request.lang = chooseLanguage(request, config);
  request.t = translator(request.lang);
}
