import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

// connection: the SMTP session it came in on (one per client connection), to tell senders apart.
export type ReceivedMail = {
  raw: Buffer;
  parsed: ParsedMail;
  envelopeTo: string[];
  envelopeFrom: string;
  connection: string;
};

// A real SMTP server on 127.0.0.1 for tests. `answer` decides the reply to each message's data:
// 250 to accept, or a 4xx/5xx code to refuse it (the message is then not kept). `holdMs` keeps
// the client waiting that long for the answer to a message's data, as a slow server does.
export async function startTestSmtpServer(
  opts: { answer?: (attempt: number) => number; holdMs?: (attempt: number) => number } = {},
) {
  const received: ReceivedMail[] = [];
  let attempt = 0;
  let answer = opts.answer ?? (() => 250);
  let holdMs = opts.holdMs ?? (() => 0);
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        attempt += 1;
        const hold = holdMs(attempt);
        if (hold > 0) await new Promise((resolve) => setTimeout(resolve, hold));
        const code = answer(attempt);
        if (code >= 400) {
          const error = Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), {
            responseCode: code,
          });
          return callback(error);
        }
        const raw = Buffer.concat(chunks);
        received.push({
          raw,
          parsed: await simpleParser(raw, { keepCidLinks: true }),
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          connection: session.id,
        });
        for (const wake of waiters.splice(0)) wake();
        callback();
      });
    },
  });
  // A client that goes away mid-conversation (a killed sender) resets its connection; without a
  // listener the 'error' event would end the test process.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}?security=none`,
    received,
    attempts: () => attempt,
    setAnswer: (fn: (attempt: number) => number) => {
      answer = fn;
    },
    setHold: (fn: (attempt: number) => number) => {
      holdMs = fn;
    },
    // Resolves once `count` messages have arrived (or rejects after the timeout).
    waitFor: async (count: number, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
