# syntax=docker/dockerfile:1

# Build: install everything (scripts off: nothing here needs them), compile, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --ignore-scripts

# Runtime: the compiled service and its production dependencies, run as the unprivileged `node` user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    JARTRAIL_DATA_DIR=/var/lib/jartrail
WORKDIR /app
RUN mkdir -p /var/lib/jartrail && chown node:node /var/lib/jartrail
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node bin ./bin
USER node
VOLUME ["/var/lib/jartrail"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node runs as PID 1 and receives SIGTERM itself, so requests in flight finish before it exits.
CMD ["node", "dist/src/main.js"]
