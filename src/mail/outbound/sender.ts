import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { storeFile } from '../../files/files.ts';
import {
  type ClaimedMessage,
  claimDueMessages,
  markFailedAttempt,
  markSent,
  markWaitingForServer,
  msUntilNextHoldEnds,
  releaseExpiredClaims,
} from './outbox.ts';
import { loadMailSettings, type SmtpServer } from './settings.ts';

export const noServerNote = 'not sent: no SMTP server configured';

type SmtpError = Error & { responseCode?: number; response?: string; code?: string };

// 5xx from the server is final (no such user, rejected); everything else (4xx, a server that
// does not answer, a dropped connection) is worth another try later.
export function isPermanentFailure(error: SmtpError): boolean {
  return typeof error.responseCode === 'number' && error.responseCode >= 500 && error.responseCode < 600;
}

// How nodemailer reaches the server. TLS certificates are always verified; "none" only means
// the server offers no encryption at all.
function transportOptions(smtp: SmtpServer) {
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
  };
}

function transportFor(cache: Map<string, Transporter>, smtp: SmtpServer): Transporter {
  const key = JSON.stringify(smtp);
  let transport = cache.get(key);
  if (!transport) {
    for (const [oldKey, old] of cache) {
      old.close();
      cache.delete(oldKey);
    }
    transport = nodemailer.createTransport({
      ...transportOptions(smtp),
      pool: true,
      maxConnections: 4,
      maxMessages: 500,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
    });
    cache.set(key, transport);
  }
  return transport;
}

export type ConnectionCheck = { ok: true } | { ok: false; error: string };

// Connects, says hello, upgrades to TLS and logs in as the sender would, then hangs up; for the
// administrator's "Send test e-mail", so a wrong setting shows at once in the server's own words.
export async function checkSmtpConnection(smtp: SmtpServer, timeoutMs = 10_000): Promise<ConnectionCheck> {
  const transport = nodemailer.createTransport({
    ...transportOptions(smtp),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([transport.verify(), timeout]);
    return { ok: true };
  } catch (error) {
    const e = error as SmtpError;
    return { ok: false, error: e.response ?? e.message };
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}

// A copy of what was sent goes to the case's E-mail OUT folder. Only replies are the case's
// correspondence; notifications to colleagues and test mail stay out of it.
async function fileSentCopy(db: Db, message: ClaimedMessage): Promise<void> {
  if (!message.case_id || message.kind !== 'reply') return;
  await db.transaction().execute(async (trx) => {
    const folder = await trx
      .selectFrom('document_folders')
      .select('id')
      .where('system_key', '=', 'email_out')
      .executeTakeFirstOrThrow();
    const file = await storeFile(trx, {
      content: message.raw,
      contentType: 'message/rfc822',
      createdBy: null,
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    const caseId = message.case_id as number;
    const name = `${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}-${message.id}.eml`;
    await trx
      .insertInto('documents')
      .values({ case_id: caseId, folder_id: folder.id, file_id: file.id, file_name: name, created_by: null })
      .execute();
    await trx
      .insertInto('case_events')
      .values({ case_id: caseId, user_id: null, kind: 'email_sent', new_value: message.envelope_to.join(', ') })
      .execute();
  });
}

export type MailSender = {
  runOnce: () => Promise<number>;
  kick: () => void;
  start: () => void;
  stop: () => Promise<void>;
};

// The outbox sender: claims due messages and hands them to SMTP, outside any web request.
export function createMailSender(opts: {
  db: Db;
  config: Config;
  log: (msg: string) => void;
  intervalMs?: number;
  batchSize?: number;
}): MailSender {
  const { db, config, log } = opts;
  const transports = new Map<string, Transporter>();
  const batchSize = opts.batchSize ?? 50;
  let timer: NodeJS.Timeout | undefined;
  let wake: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;

  async function deliver(message: ClaimedMessage, smtp: SmtpServer | null): Promise<void> {
    if (!smtp) return markWaitingForServer(db, message.id, noServerNote);
    try {
      await transportFor(transports, smtp).sendMail({
        envelope: { from: message.envelope_from, to: message.envelope_to },
        raw: message.raw,
      });
    } catch (error) {
      const e = error as SmtpError;
      const text = e.response ?? e.message;
      const outcome = await markFailedAttempt(db, message, text, isPermanentFailure(e));
      log(`outbox ${message.id} to ${message.envelope_to.join(', ')}: ${outcome} (${text})`);
      return;
    }
    await markSent(db, message.id);
    await fileSentCopy(db, message).catch((error) =>
      log(`outbox ${message.id}: sent, but the E-mail OUT copy failed: ${error}`),
    );
  }

  async function runOnce(): Promise<number> {
    let total = 0;
    await releaseExpiredClaims(db);
    for (;;) {
      const batch = await claimDueMessages(db, batchSize);
      if (!batch.length) break;
      const { smtp } = await loadMailSettings(db, config);
      await Promise.all(batch.map((message) => deliver(message, smtp)));
      total += batch.length;
      if (!smtp || stopped) break;
    }
    return total;
  }

  // A reply held for Undo goes the moment its hold ends, not at the next poll.
  async function wakeWhenHoldEnds(): Promise<void> {
    const ms = await msUntilNextHoldEnds(db);
    if (ms === null || stopped) return;
    clearTimeout(wake);
    // a few ms over: Node may fire a timer a millisecond early, and then the claim finds nothing
    wake = setTimeout(run, ms + 5);
    wake.unref();
  }

  // One run at a time per instance; a kick during a run asks for one more run after it.
  function run(): void {
    if (running) {
      again = true;
      return;
    }
    running = runOnce()
      .then(async (total) => {
        await wakeWhenHoldEnds();
        return total;
      })
      .catch((error) => {
        log(`outbox sender: ${error instanceof Error ? error.message : error}`);
        return 0;
      })
      .finally(() => {
        running = null;
        if (again && !stopped) {
          again = false;
          run();
        }
      });
  }

  return {
    runOnce,
    kick: () => {
      if (!stopped) setImmediate(run);
    },
    start: () => {
      stopped = false;
      timer = setInterval(run, opts.intervalMs ?? 5_000);
      timer.unref();
      run();
    },
    stop: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      clearTimeout(wake);
      await running;
      for (const transport of transports.values()) transport.close();
      transports.clear();
    },
  };
}
