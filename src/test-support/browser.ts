import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Db } from '../db/database.ts';
import { buildTestApp, testPassword } from './app.ts';

// Debian's Chromium, never a browser downloaded by a test tool (this machine cannot fetch one).
export const chromiumPath = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling Google's hosts, which the
// closed network refuses; --no-sandbox because CI runs as root. Chromium, not the tests' Node,
// is most of a browser test's CPU (drafts.browser: 16 s in Chromium, 6.5 s in Node); the flags
// after --disable-sync cut that by 10-15% (measured over five browser files: 82.5 → 72.9 s):
// software compositing instead of an emulated GPU, one renderer process for our one origin, and
// none of the features a test never uses. Headless Chromium still builds its browser window's
// omnibox popups as WebUI pages, one renderer per context that nothing ever shows: without them
// a browser file costs a third less Chromium CPU (drafts.browser: 13.3 → 8.9 s).
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-software-rasterizer',
  '--disable-extensions',
  '--mute-audio',
  '--disable-site-isolation-trials',
  '--disable-features=Translate,OptimizationHints,MediaRouter,PaintHolding,BackForwardCache,site-per-process,IsolateOrigins,WebUIOmniboxPopup,WebUIOmniboxAimPopup',
];

export type TestBrowser = {
  context: BrowserContext;
  page: Page;
  // Uncaught page errors and Content-Security-Policy refusals seen so far; a flow should end with none.
  problems: string[];
  close: () => Promise<void>;
};

// One Chromium per test process: the files a test worker runs one after another share it, as
// starting one costs about three seconds of CPU. It closes once no file has used it for a moment,
// so a file run on its own still ends. In a test worker (forked with an IPC channel by
// scripts/test.ts, which ends it after the last file) it waits longer: files run longest first,
// so a worker's browser files come with others in between, and each restart costs those seconds.
const idleMs = process.send ? 60_000 : 2_000;
let browser: Promise<Browser> | undefined;
let contextsOpen = 0;
let idle: NodeJS.Timeout | undefined;

function sharedBrowser(): Promise<Browser> {
  clearTimeout(idle);
  if (!browser) {
    const launched = chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, timeout: 60_000 });
    browser = launched;
    // a browser that crashed or failed to start is started afresh for the next file
    const forget = () => {
      if (browser === launched) browser = undefined;
    };
    launched.then((b) => b.on('disconnected', forget), forget);
  }
  return browser;
}

function releaseBrowser() {
  contextsOpen -= 1;
  if (contextsOpen > 0) return;
  idle = setTimeout(() => {
    const closing = browser;
    browser = undefined;
    void closing?.then((b) => b.close()).catch(() => {});
  }, idleMs);
}

// A fresh context with its own cookies, storage and cache, so nothing leaks between test files.
// The locale decides Accept-Language, and with it the language of pages before login.
export async function launchBrowser(opts: { locale?: string } = {}): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Browser tests need Debian's Chromium at ${chromiumPath}: apt-get install -y chromium`);
  }
  const context = await (await sharedBrowser()).newContext({ locale: opts.locale ?? 'sv-SE' });
  contextsOpen += 1;
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  const problems: string[] = [];
  const watched = new WeakSet<Page>();
  const watch = (page: Page) => {
    if (watched.has(page)) return;
    watched.add(page);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) {
        problems.push(`console: ${message.text()}`);
      }
    });
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      releaseBrowser();
    },
  };
}

export type TestServer = { url: string; app: FastifyInstance; close: () => Promise<void> };

// The app on a real socket (a free port on 127.0.0.1) for a browser or a raw HTTP client.
export async function startTestServer(db: Db, env: Record<string, string> = {}): Promise<TestServer> {
  const app = await buildTestApp(db, env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, close: () => app.close() };
}

// Logs in as a new user would: the Swedish login form, by its visible labels. With `next`, the
// login page is opened as a redirect from that page would open it.
export async function logInThroughForm(
  page: Page,
  baseUrl: string,
  login: string,
  opts: { password?: string; next?: string } = {},
): Promise<void> {
  await page.goto(`${baseUrl}/login${opts.next ? `?next=${opts.next}` : ''}`);
  await page.getByLabel('Användar-ID').fill(login);
  await page.getByLabel('Lösenord').fill(opts.password ?? testPassword);
  await page.getByRole('button', { name: 'Logga in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/login');
}

// A 1×1 PNG.
export const tinyPngBase64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

// Pastes the tiny PNG into the reply box's Trix editor at the cursor and waits until its upload
// has finished, i.e. until the text the form will send names the image by its URL.
export async function pasteImageIntoReply(page: Page, fileName: string): Promise<void> {
  const editor = page.locator('form.reply-box trix-editor');
  await editor.evaluate(
    (element, { base64, name }) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      // biome-ignore lint/suspicious/noExplicitAny: Trix's editor API has no types here
      (element as any).editor.insertFile(new File([bytes], name, { type: 'image/png' }));
    },
    { base64: tinyPngBase64, name: fileName },
  );
  await page.waitForFunction(() => {
    const element = document.querySelector('form.reply-box trix-editor') as
      | (Element & { inputElement?: HTMLInputElement })
      | null;
    return element?.inputElement?.value.includes('src="/uploads/images/');
  });
}
