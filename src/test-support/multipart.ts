import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { TestClient } from './app.ts';

export type FormPart =
  | { name: string; value: string | Buffer }
  | { name: string; fileName: string; contentType?: string; data: Buffer | string };

// A multipart/form-data body built by hand, parts in the given order, as a browser sends a form.
export function multipartBody(parts: FormPart[]): { payload: Buffer; contentType: string } {
  const boundary = `----casedesk${randomBytes(12).toString('hex')}`;
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const head =
      'value' in part
        ? `Content-Disposition: form-data; name="${part.name}"\r\n\r\n`
        : `Content-Disposition: form-data; name="${part.name}"; filename="${part.fileName}"\r\n` +
          `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`;
    pieces.push(Buffer.from(`--${boundary}\r\n${head}`));
    pieces.push(Buffer.from('value' in part ? part.value : part.data));
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

// Posts a multipart form the way our pages do. The CSRF token goes first in the body, as the
// plain form sends it (csrf: 'field', the default), in the x-csrf-token header as htmx and fetch
// send it (csrf: 'header'), or not at all (csrf: 'none').
export function postMultipart(
  client: TestClient,
  url: string,
  parts: FormPart[],
  opts: { csrf?: 'field' | 'header' | 'none'; htmx?: boolean } = {},
): Promise<LightMyRequestResponse> {
  const csrf = opts.csrf ?? 'field';
  const body = multipartBody(csrf === 'field' ? [{ name: '_csrf', value: client.csrf }, ...parts] : parts);
  const headers: Record<string, string> = { 'content-type': body.contentType };
  if (csrf === 'header') headers['x-csrf-token'] = client.csrf;
  return client.request({ method: 'POST', url, headers, payload: body.payload, htmx: opts.htmx });
}
