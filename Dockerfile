# syntax=docker/dockerfile:1
# Casedesk container image.
#   docker build -t casedesk .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://casedesk:secret@db:5432/casedesk \
#     -e ADMIN_PASSWORD=change-me-now -e PUBLIC_URL=https://casedesk.example.com casedesk
# DATABASE_URL is required: the image has no embedded PostgreSQL, and without DATABASE_URL the
# start stops with a message saying so. Every variable is described in .env.example.
# Node 26 is the Active LTS line since 2026-10-28.

# Compiles src/, scripts/ and migrations/ to dist/ with the dev dependencies (TypeScript).
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies are the embedded PostgreSQL binaries (and esbuild's, for tsx): tsc needs
# neither, nor any install script.
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY migrations ./migrations
RUN npm run build

# Production dependencies only: no tsx, no TypeScript, no embedded PostgreSQL.
FROM node:26-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:26-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
# Owned by root: the app, running as node, can read its code but not change it; it writes
# nothing to disk (files live in PostgreSQL).
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY views ./views
COPY public ./public
# The node user (uid 1000) comes with the base image.
USER node
EXPOSE 3000
# No curl in the slim image: Node's own fetch asks /healthz, which also checks the database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM reaches the app's graceful shutdown. The scripts run
# the same way: docker run … casedesk node dist/scripts/create-user.js --login KALLE …
# Memory: two malloc arenas and an 8 MB semi-space, as src/process-memory.ts explains.
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=8", "dist/src/server.js"]
