import type { FastifyInstance } from 'fastify';
export async function registerRegisterRoutes(_app: FastifyInstance): Promise<void> {}
