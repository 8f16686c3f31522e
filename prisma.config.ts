// Prisma CLI configuration: the JavaScript schema engine with the libSQL adapter,
// so migrate/generate work offline with no engine binaries to download.
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { resolveDatabaseUrl } from "./server/database-url";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  async adapter() {
    return new PrismaLibSQL({ url: resolveDatabaseUrl(process.env) });
  },
});
