// Logs in the way a browser does: the login page gives a CSRF token, the form post gives the
// session cookie, and a page after login gives the token that later form posts must carry.

export type BrowserSession = { cookie: string; csrf: string };

function csrfOf(html: string): string | null {
  return /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? null;
}

export async function logIn(baseUrl: string, login: string, password: string): Promise<BrowserSession> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: cookie() },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair && at > 0) jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return { status: response.status, body: await response.text() };
  };

  const page = await request('/login');
  const token = csrfOf(page.body);
  if (!token) throw new Error(`GET /login gave no CSRF token (status ${page.status})`);
  const posted = await request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, login, password, next: '/cases' }).toString(),
  });
  if (posted.status !== 303) throw new Error(`logging in as ${login} failed with status ${posted.status}`);
  const cases = await request('/cases');
  const csrf = csrfOf(cases.body);
  if (cases.status !== 200 || !csrf) throw new Error(`GET /cases after login gave status ${cases.status}`);
  return { cookie: cookie(), csrf };
}
