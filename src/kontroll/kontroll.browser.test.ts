import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCase } from '../cases/cases.ts';
import type { Db } from '../db/database.ts';
import { seedUser } from '../test-support/app.ts';
import {
  launchBrowser,
  logInThroughForm,
  startTestServer,
  type TestBrowser,
  type TestServer,
} from '../test-support/browser.ts';
import { createTestDatabase } from '../test-support/database.ts';
import { seedAcme } from '../test-support/seeds.ts';
import { needs } from '../test-support/system-packages.ts';

const ctx = {} as {
  db: Db;
  drop: () => Promise<void>;
  server: TestServer;
  browser: TestBrowser;
  remind: string;
  close: string;
};
const test = needs('chromium', suite('Kontroll from the overview in a real browser'));
const day = 24 * 60 * 60 * 1000;

test.before(async () => {
  const t = await createTestDatabase();
  ctx.db = t.db;
  ctx.drop = t.drop;
  const kalle = await seedUser(t.db, 'KALLE');
  const { customer } = await seedAcme(t.db);
  const id = async (table: 'case_statuses' | 'case_types', name: string) =>
    (await t.db.selectFrom(table).select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const waiting = await id('case_statuses', 'Väntar på kund');
  const support = await id('case_types', 'Support');
  const seed = async (title: string, waitedDays: number) => {
    const kase = await createCase(
      t.db,
      {
        title,
        responsible_id: kalle.id,
        customer_id: customer.id,
        status_id: waiting,
        case_type_id: support,
        priority_id: null,
        due_date: null,
        contact_id: null,
        contact_name: 'Per Persson',
        contact_email: 'per@acme.se',
        contact_phone: null,
        body_html: `<div>${title}.</div>`,
      },
      kalle,
    );
    await t.db
      .updateTable('cases')
      .set({ waiting_since: new Date(Date.now() - waitedDays * day) })
      .where('id', '=', kase.id)
      .execute();
    return kase.number;
  };
  ctx.remind = await seed('Skrivaren fastnar', 8);
  ctx.close = await seed('Routern blinkar', 20);
  await seed('Nyss väntande', 1);
  await t.db
    .updateTable('case_settings')
    .set({ kontroll_remind_enabled: true, kontroll_close_enabled: true })
    .execute();
  ctx.server = await startTestServer(t.db);
  ctx.browser = await launchBrowser({ locale: 'sv-SE' });
});
test.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  await ctx.drop?.();
});

test('KALLE opens Hantera → Kontroll, sees the preview, runs it and sees what changed', async () => {
  const { page, problems } = ctx.browser;
  const base = ctx.server.url;
  await logInThroughForm(page, base, 'kalle');
  await page.waitForURL(`${base}/cases`);

  await page.getByText('Hantera', { exact: true }).click();
  await page.getByRole('link', { name: 'Kontroll', exact: true }).click();
  await page.waitForURL(`${base}/kontroll`);
  await page.getByRole('heading', { name: 'Kontroll', exact: true }).waitFor();
  await page.getByText('Om du kör Kontroll nu får 1 ärende en påminnelse och 1 ärende stängs.').waitFor();
  const toRemind = page.getByRole('table', { name: 'Får påminnelse' });
  const toClose = page.getByRole('table', { name: 'Stängs' });
  assert.equal(await toRemind.getByRole('link').allTextContents(), [ctx.remind]);
  assert.equal(await toClose.getByRole('link').allTextContents(), [ctx.close]);

  await page.getByRole('button', { name: 'Kör Kontroll nu' }).click();
  await page.getByRole('heading', { name: 'Kontroll klar' }).waitFor();
  await page.getByText('1 ärende påmint, 1 ärende stängt, 0 lämnade orörda.').waitFor();
  const closedRow = page.getByRole('table', { name: 'Stängda' }).getByRole('row', { name: new RegExp(ctx.close) });
  assert.ok((await closedRow.textContent())?.includes('Stängd'));
  const remindedRow = page.getByRole('table', { name: 'Påminda' }).getByRole('row', { name: new RegExp(ctx.remind) });
  assert.ok((await remindedRow.textContent())?.includes('Väntar på kund'));

  // A second look: nothing left to do.
  await page.getByRole('link', { name: 'Kontroll', exact: true }).click();
  await page.getByText('Om du kör Kontroll nu får 0 ärenden en påminnelse och 0 ärenden stängs.').waitFor();
  assert.equal(problems, []);
});

test.run();
