// For server components: who is signed in to this browser, from the session cookie.
import { headers } from "next/headers";
import { env } from "../env";
import { isHttps } from "./cookies";
import { db } from "../db";
import { readSessionToken } from "./cookies";
import { principalFromSession, type Principal } from "./principal";
import { needsSetup } from "../services/auth";

export async function currentPrincipal(): Promise<Principal | null> {
  // Same rule as the API's context: requests reach Next.js over plain HTTP from our own server.
  const token = readSessionToken((await headers()).get("cookie"), isHttps(null, env().PUBLIC_URL));
  return token ? principalFromSession(await db(), token) : null;
}

export async function setupPending(): Promise<boolean> {
  return needsSetup(await db());
}
