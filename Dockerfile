# One image for every role: `node --import tsx` runs the TypeScript sources directly.
FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
ENV NODE_ENV=production HOST=0.0.0.0
# The API; the compose file runs workers from the same image with src/worker-main.ts.
CMD ["node", "--import", "tsx", "src/server-main.ts"]
