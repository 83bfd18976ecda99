import { logIn } from '../src/bench/session.ts';
const base = process.argv[2];
for (const login of ['KALLE', 'ANNA']) {
  const s = await logIn(base, login, 'synthetic-load-data');
  for (const p of ['/cases', '/cases?resp=any', '/cases?kind=closed&page=200', '/cases?q=skrivaren&resp=any']) {
    const r = await fetch(base + p, { headers: { cookie: s.cookie } });
    const body = await r.text();
    const rows = (body.match(/<tr id="case-row-/g) ?? []).length;
    console.log(login, p, r.status, Buffer.byteLength(body), "bytes", rows, 'rows');
  }
}
