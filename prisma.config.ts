// Prisma CLI configuration: the JavaScript schema engine with the better-sqlite3 adapter,
// so migrate/generate work offline with no engine binaries to download.
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { resolveDatabaseUrl } from "./server/database-url";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  async adapter() {
    return new PrismaBetterSQLite3({ url: resolveDatabaseUrl(process.env) });
  },
});
