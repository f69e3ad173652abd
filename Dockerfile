# The Dromedar gateway as a container, e.g. for Marathon (marathon/gateway.json,
# marathon/launch.sh) with scheduler.kind=marathon: the Drillbits run as Marathon tasks,
# so this image needs Node only, no JDK and no Drill.
#   docker build -t dromedar:0.1.0 .

# ---- build: compile the TypeScript ----
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.json && mkdir -p config

# ---- runtime: production dependencies, the compiled gateway and its default config ----
FROM node:20-slim
ENV NODE_ENV=production \
    DROMEDAR_SCHEDULER=marathon \
    DROMEDAR_HOME=/var/lib/dromedar \
    DROMEDAR_HOST=0.0.0.0 \
    DROMEDAR_PORT=9876
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY marathon/entrypoint.sh /usr/local/bin/dromedar-entrypoint
RUN mkdir -p /var/lib/dromedar && chown node:node /var/lib/dromedar
USER node
EXPOSE 9876
# node:20-slim has no curl: Node's own fetch does the check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.DROMEDAR_PORT || 9876) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Without MARATHON_URL and MARATHON_ZK_CONNECT (or a config) it exits at once saying so.
ENTRYPOINT ["/usr/local/bin/dromedar-entrypoint"]
