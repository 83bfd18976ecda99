import { logIn } from '../src/bench/session.ts';
const base = process.argv[2];
const s = await logIn(base, 'KALLE', 'synthetic-load-data');
const body = await (await fetch(base + '/cases', { headers: { cookie: s.cookie } })).text();
const a = body.indexOf('<tr id="case-row-'); const b = body.lastIndexOf('</tr>');
console.log('before rows', Buffer.byteLength(body.slice(0, a)), 'rows', Buffer.byteLength(body.slice(a, b)), 'after', Buffer.byteLength(body.slice(b)));
console.log(body.slice(a, body.indexOf('</tr>', a) + 5));
