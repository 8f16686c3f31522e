// What every procedure gets: the database, the queue, and who is calling.
import type { Db } from "../db";
import { db } from "../db";
import type { Caller } from "../services/runs";

export interface Context {
  db: Db;
  caller: Caller;
  /** The request, when there is one (route handlers); absent for server-side callers. */
  headers: Headers | null;
}

export async function createContext(opts: { headers: Headers | null }): Promise<Context> {
  // Access control arrives with the access issue; until then the console is bound to
  // loopback by default and every caller is the local operator.
  return { db: await db(), caller: { name: "local operator" }, headers: opts.headers };
}
