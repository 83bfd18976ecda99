import nodemailer, { type Transporter } from 'nodemailer';
import { recordCaseEvent } from '../../cases/case-events.ts';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/database.ts';
import { loadSecret } from '../../db/secrets.ts';
import { addMailDocument } from '../../documents/documents.ts';
import { mailCopyName } from '../copy-name.ts';
import { composeMail } from './compose.ts';
import { createMessageId } from './message-id.ts';
import {
  type ClaimedMessage,
  claimDueMessages,
  defaultClaimMs,
  isSystemMailToWrite,
  type MailToCompose,
  markFailedAttempt,
  markSent,
  markWaitingForServer,
  msUntilNextHoldEnds,
  releaseExpiredClaims,
  renewClaim,
  type SystemMailToWrite,
  storeComposedRaw,
} from './outbox.ts';
import { loadMailSettings, type MailSettings, type SmtpServer } from './settings.ts';
import { writeSystemMail } from './system-mail.ts';

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
    // One connection, kept open from message to message: the sender has one message on its way
    // at a time (see createMailSender).
    transport = nodemailer.createTransport({
      ...transportOptions(smtp),
      pool: true,
      maxConnections: 1,
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
async function fileSentCopy(
  db: Db,
  config: Config,
  message: ClaimedMessage & { raw: Buffer },
  settings: MailSettings,
): Promise<void> {
  if (!message.case_id || message.kind !== 'reply') return;
  const caseId = message.case_id;
  await db.transaction().execute(async (trx) => {
    const name = mailCopyName(new Date(), message.subject, {
      timeZone: config.timeZone,
      subjectTag: settings.subjectTag,
    });
    await addMailDocument(trx, {
      caseId,
      folder: 'email_out',
      fileName: name,
      file: { content: message.raw, contentType: 'message/rfc822' },
      noteInHistory: false,
      sentBy: message.created_by,
    });
    const sender = message.created_by === null ? null : { id: message.created_by };
    await recordCaseEvent(trx, caseId, 'email_sent', sender, { new_value: message.envelope_to.join(', ') });
  });
}

export type MailSender = {
  runOnce: () => Promise<number>;
  kick: () => void;
  start: () => void;
  stop: () => Promise<void>;
};

// Mail settings are looked at again after this many messages, so a change applies within a run.
const settingsEvery = 50;

// The outbox sender: claims due messages and hands them to SMTP, outside any web request.
// One message at a time, each claimed just before it goes and recorded as sent in its own commit
// the moment the server accepts it: a crash (kill -9) leaves at most the one message on its way
// unrecorded, the only one that can go twice, and no claimed message waits behind others.
export function createMailSender(opts: {
  db: Db;
  config: Config;
  log: (msg: string) => void;
  intervalMs?: number;
  // how long a claim holds unless renewed (outbox.ts); renewed every third of it while sending
  claimMs?: number;
}): MailSender {
  const { db, config, log } = opts;
  const transports = new Map<string, Transporter>();
  const claimMs = opts.claimMs ?? defaultClaimMs;
  let timer: NodeJS.Timeout | undefined;
  let wake: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let again = false;
  let stopped = true;
  // set by stop(): a run under way finishes the message on its way and claims no more
  let stopRequested = false;
  // E-mail OUT copies, filed one after another while the next messages go (runOnce waits for them)
  let copies: Promise<void> = Promise.resolve();

  // A server may take long to answer the end of DATA (content scanning): meanwhile the claim is
  // renewed, so no other sender takes the message over and sends it a second time.
  function keepClaim(message: ClaimedMessage): () => void {
    const renew = () =>
      renewClaim(db, message, claimMs).then(
        (ours) => {
          if (!ours) log(`outbox ${message.id}: the claim ran out while sending; it may go twice`);
        },
        (error) => log(`outbox ${message.id}: claim not renewed: ${error instanceof Error ? error.message : error}`),
      );
    const renewal = setInterval(renew, claimMs / 3);
    renewal.unref();
    return () => clearInterval(renewal);
  }

  // Its own commit the moment the server accepted the message, before anything else happens:
  // from then on a crash cannot send it again. A failed write would send it again once the
  // claim runs out, so it is worth a few tries.
  async function recordSent(id: string): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await markSent(db, id);
      } catch (error) {
        if (attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, attempt * 500));
      }
    }
  }

  // A mail queued as what to write (Kontroll's reminders, notifications) is composed now, with the
  // settings of this moment, and kept: a retry and the E-mail OUT copy use the same bytes. A
  // system mail to write gets its texts in its recipient's language and its Message-ID now.
  async function composed(message: ClaimedMessage, settings: MailSettings): Promise<ClaimedMessage & { raw: Buffer }> {
    if (message.raw) return { ...message, raw: message.raw };
    const queued = message.compose as MailToCompose | SystemMailToWrite;
    const spec = isSystemMailToWrite(queued) ? writeSystemMail(queued, message, config.timeZone) : queued;
    const messageId =
      message.message_id ?? createMessageId(settings.messageIdDomain, await loadSecret(db, 'message-id'));
    const raw = await composeMail({
      settings,
      messageId,
      to: spec.to,
      subject: spec.subject,
      bodyHtml: spec.bodyHtml,
      text: spec.text,
      inReplyTo: spec.inReplyTo,
      references: spec.references,
      caseNumber: spec.caseNumber ?? undefined,
      autoSubmitted: spec.autoSubmitted,
    });
    await storeComposedRaw(db, message.id, raw, messageId);
    return { ...message, raw, message_id: messageId };
  }

  async function deliver(claimed: ClaimedMessage, settings: MailSettings): Promise<void> {
    const { smtp } = settings;
    if (!smtp) return markWaitingForServer(db, claimed, noServerNote);
    let message: ClaimedMessage & { raw: Buffer };
    try {
      message = await composed(claimed, settings);
    } catch (error) {
      // what was queued cannot be written as a mail: trying again would not change that
      const text = `not composed: ${error instanceof Error ? error.message : String(error)}`;
      await markFailedAttempt(db, claimed, text, true);
      log(`outbox ${claimed.id}: ${text}`);
      return;
    }
    const release = keepClaim(message);
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
    } finally {
      release();
    }
    await recordSent(message.id);
    // Not part of delivery: the next message need not wait for it.
    copies = copies.then(() =>
      fileSentCopy(db, config, message, settings).catch((error) =>
        log(`outbox ${message.id}: sent, but the E-mail OUT copy failed: ${error}`),
      ),
    );
  }

  async function runOnce(): Promise<number> {
    let total = 0;
    let settings: MailSettings | null = null;
    await releaseExpiredClaims(db);
    while (!stopRequested) {
      if (!settings || total % settingsEvery === 0) settings = await loadMailSettings(db, config);
      const [message] = await claimDueMessages(db, 1, claimMs);
      if (!message) break;
      await deliver(message, settings);
      total += 1;
      // Without a server, a batch is told why it waits; the rest keep their turn for a later run.
      if (!settings.smtp && total >= settingsEvery) break;
    }
    await copies;
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
      stopRequested = false;
      timer = setInterval(run, opts.intervalMs ?? 5_000);
      timer.unref();
      run();
    },
    stop: async () => {
      stopped = true;
      stopRequested = true;
      if (timer) clearInterval(timer);
      clearTimeout(wake);
      await running;
      for (const transport of transports.values()) transport.close();
      transports.clear();
    },
  };
}
