import { randomBytes, scrypt } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse, RouteOptions } from 'fastify';
import { buildApp } from '../app.ts';
import { type Config, loadConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Role } from '../db/schema.ts';
import type { MailSender } from '../mail/outbound/sender.ts';
import { createUser } from '../users/users.ts';

export const testPassword = 'correct horse battery';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', SESSION_SECRET: 'x'.repeat(40), ...env });
}

export async function buildTestApp(
  db: Db,
  env: Record<string, string> = {},
  extra: {
    mailSender?: Pick<MailSender, 'kick'>;
    onRoute?: (route: RouteOptions) => void;
    // routes a test adds to the app, behind its hooks like any other (the fuzz test's planted bug)
    plant?: (app: FastifyInstance) => void;
  } = {},
): Promise<FastifyInstance> {
  const { onRoute, plant, ...deps } = extra;
  const app = await buildApp({ config: testConfig(env), db, ...deps }, { logger: false, onRoute });
  plant?.(app);
  await app.ready();
  return app;
}

// The hash seeded users get for testPassword: scrypt in the app's format, at a cost of N=1024
// where the app hashes at 16384. A login verifies at the cost the stored hash names, so each test
// login costs about 2 ms of CPU instead of 37, and seeding a user nothing: the suite makes
// hundreds of both. Tests of hashing itself go through the app (the admin's user form, a
// password change), which hashes at its own cost.
const testPasswordHash = new Promise<string>((resolve, reject) => {
  const [N, r, p] = [1024, 8, 1];
  const salt = randomBytes(16);
  scrypt(testPassword.normalize('NFKC'), salt, 64, { N, r, p }, (err, key) =>
    err ? reject(err) : resolve(['scrypt', N, r, p, salt.toString('base64'), key.toString('base64')].join('$')),
  );
});

export async function seedUser(db: Db, login: string, role: Role = 'agent', extra: { language?: 'sv' | 'en' } = {}) {
  const user = await createUser(db, {
    login,
    name: `${login[0]}${login.slice(1).toLowerCase()} Testsson`,
    initials: '',
    email: `${login.toLowerCase()}@example.com`,
    role,
    language: extra.language ?? null,
  });
  return db
    .updateTable('users')
    .set({ password_hash: await testPasswordHash })
    .where('id', '=', user.id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

// The one-time key of the (first) create form in a page, as a browser would send it back.
export function formKeyIn(html: string): string {
  const key = /name="form_key" value="([^"]+)"/.exec(html)?.[1];
  if (!key) throw new Error('no form_key in the page');
  return key;
}

// A browser stand-in for app.inject(): keeps cookies and knows the current CSRF token.
export class TestClient {
  private cookies = new Map<string, string>();
  csrf = '';

  constructor(private readonly app: FastifyInstance) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  async request(
    opts: InjectOptions & { form?: Record<string, string>; htmx?: boolean },
  ): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (opts.htmx) headers['hx-request'] = 'true';
    let payload = opts.payload;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(opts.form).toString();
    }
    const response = await this.app.inject({ ...opts, headers, payload });
    for (const cookie of response.cookies) {
      if (cookie.expires && cookie.expires.getTime() < Date.now()) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
    if (token) this.csrf = token;
    return response;
  }

  get(url: string, opts: { htmx?: boolean; headers?: Record<string, string> } = {}) {
    return this.request({ method: 'GET', url, ...opts });
  }

  // Posts a form with the CSRF token the last page gave us (pass _csrf: '' to leave it out).
  post(url: string, form: Record<string, string> = {}, opts: { htmx?: boolean } = {}) {
    return this.request({ method: 'POST', url, form: { _csrf: this.csrf, ...form }, ...opts });
  }

  async login(login: string, password = testPassword): Promise<LightMyRequestResponse> {
    await this.get('/login');
    const response = await this.post('/login', { login, password });
    await this.get('/cases');
    return response;
  }
}
