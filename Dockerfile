# syntax=docker/dockerfile:1

# ---- deps: every dependency, dev ones included (the build needs the Nest CLI and tsc) ----
FROM node:24-bookworm-slim AS deps
WORKDIR /app
# swagger-ui-dist pulls in @scarf/scarf, whose install script phones home.
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

# ---- build: compile to dist/, then drop the dev dependencies ----
FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: the compiled server and production dependencies only ----
FROM node:24-bookworm-slim AS runtime
LABEL org.opencontainers.image.title="nest-secure-api" \
      org.opencontainers.image.description="The reference secure API server for NestJS" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
# Code stays owned by root (read-only for the server); only the data folder is writable,
# for what DATA_DIR holds when ALLOW_DEV_DEFAULTS=true.
RUN mkdir -p /app/.data && chown node:node /app/.data
# package.json is needed at run time: it declares "type": "module" for dist/.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# npm run cli / start:prod go through scripts/with-node.mjs (a pass-through on Node 24).
COPY --from=build /app/scripts/with-node.mjs /app/scripts/with-node.sh /app/scripts/ensure-node.sh ./scripts/
USER node
EXPOSE 3000
# Slim images have no curl: Node's own fetch asks the readiness probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/health/ready`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Nothing is written outside DATA_DIR, so the root filesystem may be read-only (deploy/kubernetes).
# dist/otel.js is the OpenTelemetry hook: it does nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
# The V8 flags are npm run start:prod's (README, "Memory"): semi-spaces of 8 MB instead of
# the 64 MB V8 picks on a large host; an old generation capped at 192 MB, about three times
# what the server holds, so a leak ends in a restart rather than a swapping host; and no
# allocation-site pretenuring, which put request-scoped objects straight into the old
# generation (docs/performance.md: a fifth to two fifths less CPU per request without it).
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=192", "--no-allocation-site-pretenuring", "--import", "./dist/otel.js", "dist/main.js"]
