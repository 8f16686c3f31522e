// For server components: who is signed in to this browser, from the session cookie.
import { headers } from "next/headers";
import { db } from "../db";
import { readSessionToken } from "./cookies";
import { principalFromSession, type Principal } from "./principal";
import { needsSetup } from "../services/auth";

export async function currentPrincipal(): Promise<Principal | null> {
  const token = readSessionToken((await headers()).get("cookie"));
  return token ? principalFromSession(await db(), token) : null;
}

export async function setupPending(): Promise<boolean> {
  return needsSetup(await db());
}
