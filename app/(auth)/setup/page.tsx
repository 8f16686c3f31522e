import { redirect } from "next/navigation";
import { SetupForm } from "@/components/auth/setup-form";
import { setupPending } from "@/server/auth/server-session";

export const dynamic = "force-dynamic";
export const metadata = { title: "First-run setup" };

export default async function SetupPage({ searchParams }: { searchParams: Promise<{ token?: string }> }) {
  if (!(await setupPending())) redirect("/login");
  const { token } = await searchParams;
  return <SetupForm token={token ?? ""} />;
}
