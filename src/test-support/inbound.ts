import * as assert from 'uvu/assert';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Case } from '../db/schema.ts';
import { processInboundMessage } from '../mail/inbound/process.ts';
import { storeInboundRaw } from '../mail/inbound/store.ts';

let seq = 0;
// A raw RFC 822 message: header lines, a blank line, the body; CRLF as on the wire. Each gets a
// Message-ID of its own unless the headers name one.
export function testMail(headers: Record<string, string>, body: string): Buffer {
  seq += 1;
  const all = {
    'Message-ID': `<test-${seq}-${process.pid}-${Date.now()}@kund.example>`,
    Date: 'Tue, 24 Nov 2026 09:15:00 +0100',
    'MIME-Version': '1.0',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Transfer-Encoding': '8bit',
    To: 'support@casedesk.test',
    ...headers,
  };
  const head = Object.entries(all)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`, 'utf8');
}

// What `npm run mail:import` does with one message: stored raw first, then processed.
export async function receiveMail(db: Db, config: Config, raw: Buffer) {
  const stored = await storeInboundRaw(db, raw, { source: 'import' });
  return { id: stored.id, ...(await processInboundMessage(db, config, stored.id)) };
}

export async function findCaseByNumber(db: Db, number: string | undefined): Promise<Case> {
  assert.ok(number, 'a case number');
  return db
    .selectFrom('cases')
    .selectAll()
    .where('number', '=', number as string)
    .executeTakeFirstOrThrow() as Promise<Case>;
}
