# syntax=docker/dockerfile:1
# Casedesk container image.
#   docker build -t casedesk .
#   docker run -p 3000:3000 -e DATABASE_URL=postgres://casedesk:secret@db:5432/casedesk \
#     -e ADMIN_PASSWORD=change-me-now -e PUBLIC_URL=https://casedesk.example.com casedesk
# DATABASE_URL is expected: the image is meant to run against an external PostgreSQL. Without it
# the app falls back to the embedded PostgreSQL in DATA_DIR (/app/data); mount a volume there.
# Every variable is described in .env.example.

FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; tsx is one of them, since the app runs its TypeScript directly.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node package.json package-lock.json ./
COPY --chown=node:node src ./src
COPY --chown=node:node views ./views
COPY --chown=node:node public ./public
COPY --chown=node:node migrations ./migrations
COPY --chown=node:node scripts ./scripts
RUN mkdir -p /app/data && chown node:node /app/data
# The node user (uid 1000) comes with the base image.
USER node
EXPOSE 3000
# No curl in the slim image: Node's own fetch asks /healthz, which also checks the database.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm), so SIGTERM reaches the app's graceful shutdown.
CMD ["node", "--import", "tsx", "src/server.ts"]
