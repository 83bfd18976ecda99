import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

// The only reader of process.env. Every variable is documented in .env.example.

const isTimeZone = (value: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
};

// Which proxies may tell us the client's address (X-Forwarded-For): none, the nearest `hops`
// (each appends the address it saw), or those at these addresses/CIDRs. Never every hop: then any
// client could name its own address and step around the login throttle.
export type TrustProxy = false | { hops: number } | { addresses: string[] };

// An address or a CIDR range of one family, /1 or narrower (a /0 would allow every address).
function isAddressRange(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) >= 1 && Number(bits) <= (family === 4 ? 32 : 128);
}

// proxy-addr's names for the private ranges
const namedRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(entry: string): boolean {
  if (namedRanges.has(entry) || isIP(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length || !bits || !/^\d{1,3}$/.test(bits)) return false;
  // a /0 is every address, which is trusting every hop again
  return Number(bits) >= 1 && Number(bits) <= (family === 4 ? 32 : 128);
}

const trustProxySetting = z
  .string()
  .default('false')
  .transform((value, ctx): TrustProxy => {
    if (value === 'false' || value === '0') return false;
    if (/^\d{1,2}$/.test(value)) return { hops: Number(value) };
    const entries = value.split(',').map((entry) => entry.trim());
    if (value !== 'true' && entries.every(isProxyAddress)) return { addresses: entries };
    ctx.addIssue({
      code: 'custom',
      message:
        value === 'true'
          ? 'true would trust every hop, so any client could name its own address in X-Forwarded-For; give the number of proxies in front of Casedesk (1 for one reverse proxy) or their addresses/CIDRs (10.0.0.5,10.1.0.0/16), or false'
          : 'must be false, the number of proxies in front of Casedesk (1 for one reverse proxy), or a comma-separated list of their addresses/CIDRs (10.0.0.5,10.1.0.0/16; not /0)',
    });
    return z.NEVER;
  });

const schema = z.object({
  // `npm start` serves as in production; `npm run dev` sets development (templates re-read).
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_PG_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TZ: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Stockholm').default('Europe/Stockholm'),
  DEFAULT_LANGUAGE: z.enum(['sv', 'en']).default('sv'),
  PUBLIC_URL: z.string().url('must be a URL such as https://casedesk.example.com').optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_SENDER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  JOBS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  DEMO: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  TRUST_PROXY: trustProxySetting,
  MAX_UPLOAD_MB: z.coerce.number().int().min(1).max(2048).default(25),
  IMAP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(15),
  // Web processes on this machine (node:cluster); unset: one per core. 1: no cluster at all.
  WEB_CONCURRENCY: z.coerce.number().int('must be a whole number').min(1).max(64).optional(),
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int('must be a whole number').min(1).max(1_000_000).default(60_000),
  WEBHOOK_ALLOWED_ADDRESSES: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .refine(
      (entries) => entries.every(isAddressRange),
      'must be a comma-separated list of addresses or CIDRs (127.0.0.1,10.1.0.0/16)',
    ),
});

export type Config = {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  adminPassword: string | undefined;
  sessionSecret: string | undefined;
  logLevel: string;
  timeZone: string;
  defaultLanguage: 'sv' | 'en';
  publicUrl: string;
  trustProxy: TrustProxy;
  // Largest file one upload may carry (documents; pasted images have their own lower cap).
  maxUploadBytes: number;
  // How long Read mail waits for an IMAP server to connect and greet before it gives up on it.
  imapTimeoutMs: number;
  demo: boolean;
  smtpUrl: string | undefined;
  // Whether this instance runs the outbox sender (every instance may; claims never overlap).
  mailSender: boolean;
  // Whether this instance runs the scheduled jobs (src/jobs/schedule.ts: Read mail, …); every
  // instance may, as each job and each mailbox is locked while it runs.
  jobs: boolean;
  // How many processes serve HTTP on this machine (src/server.ts); 1 serves from the process itself.
  webConcurrency: number;
  // REST API requests a token may make per minute, counted across all instances (src/api/).
  apiRateLimitPerMinute: number;
  // Webhook targets in private, loopback or link-local ranges are refused (SSRF) unless they are in
  // one of these addresses or CIDRs (src/webhooks/address-guard.ts).
  webhookAllowedAddresses: string[];
};

export class ConfigError extends Error {}

// Fastify's trustProxy option for the setting. Fastify reads a bare number as "trust no hop" (it
// cannot check the peer), so a hop count becomes a function that trusts that many hops inwards
// from the socket.
export function fastifyTrustProxy(setting: TrustProxy): false | string[] | ((address: string, hop: number) => boolean) {
  if (!setting) return false;
  if ('hops' in setting) return (_address, hop) => hop < setting.hops;
  return setting.addresses;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings (as written by a blank line in an env file) mean "unset".
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    env: c.NODE_ENV,
    port: c.PORT,
    host: c.HOST,
    databaseUrl: c.DATABASE_URL,
    dataDir: path.resolve(c.DATA_DIR),
    embeddedPgPort: c.EMBEDDED_PG_PORT,
    adminPassword: c.ADMIN_PASSWORD,
    sessionSecret: c.SESSION_SECRET,
    logLevel: c.LOG_LEVEL,
    timeZone: c.TZ,
    defaultLanguage: c.DEFAULT_LANGUAGE,
    publicUrl: c.PUBLIC_URL ?? `http://${c.HOST}:${c.PORT}`,
    trustProxy: c.TRUST_PROXY,
    maxUploadBytes: c.MAX_UPLOAD_MB * 1024 * 1024,
    imapTimeoutMs: c.IMAP_TIMEOUT_SECONDS * 1000,
    demo: c.DEMO,
    smtpUrl: c.SMTP_URL,
    mailSender: c.MAIL_SENDER,
    jobs: c.JOBS,
    webConcurrency: c.WEB_CONCURRENCY ?? Math.max(1, os.availableParallelism()),
    apiRateLimitPerMinute: c.API_RATE_LIMIT_PER_MINUTE,
    webhookAllowedAddresses: c.WEBHOOK_ALLOWED_ADDRESSES,
  };
}
