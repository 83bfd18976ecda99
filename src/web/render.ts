import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeRedirectTarget } from './redirect.ts';

export function isHtmx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true' && request.headers['hx-history-restore-request'] !== 'true';
}

// One URL answers with the whole page, or with the named fragment for htmx. The page template
// includes the same fragment, so both always agree.
export function render(
  request: FastifyRequest,
  reply: FastifyReply,
  view: { page: string; fragment?: string; status?: number },
  data: Record<string, unknown>,
): FastifyReply {
  reply.header('Vary', 'HX-Request');
  if (view.status) reply.code(view.status);
  const template = view.fragment && isHtmx(request) ? view.fragment : view.page;
  return reply.view(template, data);
}

export function redirectAfterPost(
  request: FastifyRequest,
  reply: FastifyReply,
  url: string,
  flash?: string,
): FastifyReply {
  if (flash) request.session.flash = flash;
  const target = safeRedirectTarget(url);
  if (isHtmx(request)) return reply.header('HX-Redirect', target).code(204).send();
  return reply.redirect(target, 303);
}
