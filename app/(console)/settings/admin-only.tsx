// A server-side guard for the admin settings pages: it lives in app/ because it reads
// the session itself (console components reach the server only through tRPC).
import type { ReactNode } from "react";
import { currentPrincipal } from "@/server/auth/server-session";
import { EmptyState } from "@/components/ui/empty-state";

/** Renders its children for admins; others see why not (the API refuses them anyway). */
export async function AdminOnly({ children }: { children: ReactNode }) {
  const me = await currentPrincipal();
  if (me?.role !== "admin") return <EmptyState title="Admins only">Only an admin can see this page. Ask an admin if you need access.</EmptyState>;
  return <>{children}</>;
}
