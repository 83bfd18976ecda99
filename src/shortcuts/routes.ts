import type { FastifyInstance } from 'fastify';
import { render } from '../web/render.ts';

// The keyboard shortcuts of public/shortcuts.js: a page of its own (the user menu's link without
// JavaScript), or for htmx the <dialog> that "?" opens. Fetched when asked for, not carried by
// every page: the list is a kilobyte, and the overview's page budget (page-weight.test.ts) is tight.
export async function registerShortcutRoutes(app: FastifyInstance): Promise<void> {
  app.get('/shortcuts', async (request, reply) =>
    render(request, reply, { page: 'shortcuts/index', fragment: 'shortcuts/_dialog' }, {}),
  );
}
