import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import type { Db } from '../db/database.ts';
import { createMailbox, type Mailbox, mailboxSchema } from '../mail/inbound/mailboxes.ts';

// Debian's Dovecot (package dovecot-imapd), which .ci/run installs; never a download.
export const dovecotPath = '/usr/sbin/dovecot';

export type TestImapMessage = { uid: number; flags: string[]; messageId: string | null; size: number };

export type TestImapServer = {
  host: string;
  port: number;
  user: string;
  password: string;
  // Puts a message into a folder as a mail server's delivery would; returns its UID.
  appendMessage: (raw: string | Buffer, opts?: { folder?: string; flags?: string[] }) => Promise<number>;
  listMessages: (folder?: string) => Promise<TestImapMessage[]>;
  // UID → flags of every message in the folder.
  listFlags: (folder?: string) => Promise<Map<number, string[]>>;
  listFolders: () => Promise<string[]>;
  // Makes a stored message's file unreadable, as a broken file on a real server: Dovecot then
  // fails to send its content (and drops the connection).
  breakMessage: (uid: number, folder?: string) => Promise<void>;
  // Stops Dovecot, keeping its mail; start() brings it back on the same port with the same mail.
  stop: () => Promise<void>;
  start: () => Promise<void>;
  // Stops Dovecot and removes its directory.
  close: () => Promise<void>;
  log: () => Promise<string>;
};

function dovecotVersion(): string {
  return execFileSync(dovecotPath, ['--version'], { encoding: 'utf8' }).trim();
}

// Signals the Dovecot master's own process group (its id is the master's pid), nothing else.
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Resolves once the server greets on the port ("* OK"), so a test never races its start.
async function waitForGreeting(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dovecot exited with code ${child.exitCode}`);
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('* OK'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (greeted) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not greet on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Who Dovecot's processes and the mail belong to. As root (CI), Dovecot's own unprivileged users
// from the Debian package run the internal and login processes, and the mail belongs to nobody
// (Dovecot refuses to let a mail process run as root). As anyone else, everything is that user.
function processUsers(): { internal: string; login: string; mailUid: number; mailGid: number } {
  const me = os.userInfo();
  if (me.uid !== 0) return { internal: me.username, login: me.username, mailUid: me.uid, mailGid: me.gid };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { internal: 'dovecot', login: 'dovenull', mailUid: id('-u'), mailGid: id('-g') };
}

function configText(dir: string, port: number, users: ReturnType<typeof processUsers>): string {
  return `# Written by src/test-support/imap.ts for one test file; nothing here is shared.
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
# Plain IMAP on loopback: tests need no certificate, and the app's TLS code is not under test here.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once rather than after the usual two-second penalty.
auth_failure_delay = 0
default_internal_user = ${users.internal}
default_login_user = ${users.login}
first_valid_uid = ${Math.min(users.mailUid, 500) || 1}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
  # Nobody may reach the auth-penalty socket, which turns the penalty off: otherwise a test's
  # wrong password makes the next login from 127.0.0.1 wait seconds.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`;
}

// Starts a Dovecot of its own for one test file: its own config, port, user and maildir in a
// temporary directory, so files never see each other's mail.
export async function startTestImapServer(opts: { user?: string; password?: string } = {}): Promise<TestImapServer> {
  if (!existsSync(dovecotPath)) {
    throw new Error(`IMAP tests need Debian's Dovecot at ${dovecotPath}: apt-get install -y dovecot-imapd`);
  }
  const version = dovecotVersion();
  // 2.4 renamed most settings this file writes (passdb/userdb, auth_allow_cleartext, …).
  if (!version.startsWith('2.3.')) throw new Error(`the IMAP test harness expects Dovecot 2.3, found ${version}`);

  const user = opts.user ?? 'casedesk';
  const password = opts.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const users = processUsers();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'casedesk-dovecot-'));
  // Dovecot's unprivileged processes must be able to reach their sockets and the mail.
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, 'run'));
  await mkdir(path.join(dir, 'state'));
  const home = path.join(dir, 'mail', user);
  await mkdir(home, { recursive: true });
  if (os.userInfo().uid === 0) {
    await chown(path.join(dir, 'mail'), users.mailUid, users.mailGid);
    await chown(home, users.mailUid, users.mailGid);
  }
  await writeFile(
    path.join(dir, 'passwd'),
    `${user}:{PLAIN}${password}:${users.mailUid}:${users.mailGid}::${home}::\n`,
    { mode: 0o644 },
  );
  const configPath = path.join(dir, 'dovecot.conf');

  let port = 0;
  let child: ChildProcess | null = null;
  const killOnExit = () => {
    if (child) killGroup(child, 'SIGKILL');
  };
  process.once('exit', killOnExit);

  async function start(): Promise<void> {
    // A port found free can be taken before Dovecot binds it; then try another.
    for (let attempt = 0; ; attempt += 1) {
      if (!port || attempt > 0) port = await freePort();
      await writeFile(configPath, configText(dir, port, users));
      // -F: in the foreground, as this process's child; detached: in a process group of its own,
      // so stop() ends the master and every IMAP session it forked (a stopped master alone
      // leaves the sessions serving their clients).
      const started = spawn(dovecotPath, ['-F', '-c', configPath], {
        stdio: ['ignore', 'ignore', 'pipe'],
        detached: true,
      });
      let stderr = '';
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child = started;
      try {
        await waitForGreeting(port, started);
        return;
      } catch (error) {
        killGroup(started, 'SIGKILL');
        child = null;
        const log = await readFile(path.join(dir, 'dovecot.log'), 'utf8').catch(() => '');
        if (attempt >= 3) throw new Error(`dovecot did not start: ${(error as Error).message}\n${stderr}\n${log}`);
      }
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = null;
    if (!running) return;
    if (running.exitCode === null) {
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      killGroup(running, 'SIGTERM');
      const timer = setTimeout(() => killGroup(running, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    // Sessions that outlived the master's SIGTERM go now, so their clients see the connection drop.
    killGroup(running, 'SIGKILL');
  }

  await start();

  async function withClient<T>(fn: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user, pass: password },
      logger: false,
      disableAutoIdle: true,
    });
    client.on('error', () => {});
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }

  async function ensureFolder(client: ImapFlow, folder: string): Promise<void> {
    if (folder.toUpperCase() === 'INBOX') return;
    const folders = await client.list();
    if (!folders.some((f) => f.path === folder)) await client.mailboxCreate(folder);
  }

  async function listMessages(folder = 'INBOX'): Promise<TestImapMessage[]> {
    return withClient(async (client) => {
      const folders = await client.list();
      if (folder.toUpperCase() !== 'INBOX' && !folders.some((f) => f.path === folder)) return [];
      const opened = await client.mailboxOpen(folder, { readOnly: true });
      if (!opened.exists) return [];
      const messages = await client.fetchAll('1:*', { uid: true, flags: true, size: true, envelope: true });
      return messages
        .map((m) => ({
          uid: m.uid,
          flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(),
          messageId: m.envelope?.messageId ?? null,
          size: m.size ?? 0,
        }))
        .sort((a, b) => a.uid - b.uid);
    });
  }

  // Maildir++: INBOX is the Maildir itself, another folder its ".Name" directory; dovecot-uidlist
  // names each UID's file ("<uid> [fields] :<base name>"), kept in cur/ or new/ with flags after.
  async function breakMessage(uid: number, folder = 'INBOX'): Promise<void> {
    const maildir = path.join(home, 'Maildir', folder.toUpperCase() === 'INBOX' ? '' : `.${folder}`);
    const uidlist = await readFile(path.join(maildir, 'dovecot-uidlist'), 'utf8');
    const base = uidlist
      .split('\n')
      .map((line) => /^(\d+)\s.*:(\S+)$/.exec(line))
      .find((m) => Number(m?.[1]) === uid)?.[2];
    if (!base) throw new Error(`no file for UID ${uid} in ${folder}`);
    for (const sub of ['cur', 'new']) {
      const name = (await readdir(path.join(maildir, sub))).find((f) => f.startsWith(base));
      if (name) return chmod(path.join(maildir, sub, name), 0);
    }
    throw new Error(`the file of UID ${uid} in ${folder} is gone`);
  }

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    user,
    password,
    appendMessage: (raw, o = {}) =>
      withClient(async (client) => {
        const folder = o.folder ?? 'INBOX';
        await ensureFolder(client, folder);
        const result = await client.append(folder, raw, o.flags ?? []);
        const uid = result ? result.uid : undefined;
        if (!uid) throw new Error('append returned no UID');
        return uid;
      }),
    listMessages,
    listFlags: async (folder = 'INBOX') => new Map((await listMessages(folder)).map((m) => [m.uid, m.flags])),
    listFolders: () => withClient(async (client) => (await client.list()).map((f) => f.path).sort()),
    breakMessage,
    stop,
    start,
    close: async () => {
      await stop();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
    log: () => readFile(path.join(dir, 'dovecot.log'), 'utf8').catch(() => ''),
  };
}

// A small RFC 822 message for tests; CRLF line ends as on the wire.
export function testMessage(opts: {
  subject: string;
  from?: string;
  to?: string;
  messageId?: string;
  body?: string;
  headers?: Record<string, string>;
}): string {
  const lines = [
    `From: ${opts.from ?? 'Per Persson <per@acme.se>'}`,
    `To: ${opts.to ?? 'support@casedesk.test'}`,
    `Subject: ${opts.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${opts.messageId ?? `<${Math.random().toString(36).slice(2)}@acme.se>`}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    '',
    opts.body ?? 'Hej!\r\n\r\nSkrivaren fastnar igen.\r\n',
  ];
  return lines.join('\r\n');
}

// A mailbox under Administration → Mailboxes that reads `server` in cleartext (a loopback test
// server) and marks what it read as seen, made as the admin's form makes it.
export async function addTestMailbox(
  db: Db,
  server: { host: string; port: number; user: string; password: string },
  name = 'Support',
): Promise<Mailbox> {
  return createMailbox(
    db,
    mailboxSchema.parse({
      name,
      imap_host: server.host,
      imap_port: String(server.port),
      imap_security: 'none',
      imap_user: server.user,
      imap_password: server.password,
      folder: 'INBOX',
      after_read: 'seen',
    }),
  );
}
