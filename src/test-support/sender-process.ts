import { fileURLToPath } from 'node:url';
import { createDb } from '../db/database.ts';
import { createMailSender } from '../mail/outbound/sender.ts';
import { forkedConfig, forkReady, isForkedAs } from './forked.ts';

// The outbox sender (createMailSender, started as the server starts it) alone in a process of
// its own, so a test can kill -9 it in the middle of a delivery. It is started ahead and waits:
// go() lets it loose on the outbox of `databaseUrl`, delivering to `smtpUrl`.

export type SenderProcess = {
  go: () => void;
  kill: () => Promise<void>;
  // everything it logged (to stderr), for a failing test's message
  output: () => string;
};

const self = fileURLToPath(import.meta.url);

export async function startSenderProcess(opts: {
  databaseUrl: string;
  smtpUrl: string;
  claimMs: number;
}): Promise<SenderProcess> {
  const { child, exited, output } = await forkReady(
    self,
    '--send',
    {
      CASEDESK_SENDER_DATABASE_URL: opts.databaseUrl,
      CASEDESK_SENDER_SMTP_URL: opts.smtpUrl,
      CASEDESK_SENDER_CLAIM_MS: String(opts.claimMs),
    },
    'sender',
  );
  return {
    go: () => child.send('go'),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    output,
  };
}

if (isForkedAs(self, '--send')) {
  const databaseUrl = process.env.CASEDESK_SENDER_DATABASE_URL as string;
  const config = forkedConfig(databaseUrl, process.env.CASEDESK_SENDER_SMTP_URL);
  const db = createDb(databaseUrl, 4);
  const sender = createMailSender({
    db,
    config,
    log: (message) => console.error(message),
    intervalMs: 50,
    claimMs: Number(process.env.CASEDESK_SENDER_CLAIM_MS),
  });
  // The database connection is opened before the go, so the first delivery does not wait for it.
  await db.selectFrom('outbox').select('id').limit(1).execute();
  process.once('message', () => sender.start());
  // the test that started it is gone
  process.once('disconnect', () => process.exit(0));
  process.send?.('ready');
}
