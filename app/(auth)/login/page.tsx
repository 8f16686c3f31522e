import { redirect } from "next/navigation";
import { LoginForm } from "@/components/auth/login-form";
import { currentPrincipal, setupPending } from "@/server/auth/server-session";
import { safeNextPath } from "@/server/auth/safe-next";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  if (await currentPrincipal()) redirect("/");
  if (await setupPending()) redirect("/setup");
  const { next } = await searchParams;
  // Only local paths: never redirect a user off-site after signing in.
  return <LoginForm next={safeNextPath(next)} />;
}
