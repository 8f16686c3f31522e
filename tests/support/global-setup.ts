// One real Redis for the whole vitest run (each test file uses its own key prefix
// or database number where it matters). Its URL reaches tests via provide/inject.
import type { TestProject } from "vitest/node";
import { startRedis, type TestRedis } from "./redis-server";

let redis: TestRedis | undefined;

export async function setup(project: TestProject) {
  redis = await startRedis();
  project.provide("redisUrl", redis.url);
}

export async function teardown() {
  await redis?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
