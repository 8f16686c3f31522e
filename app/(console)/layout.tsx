import type { ReactNode } from "react";
import { redirect } from "next/navigation";
import { ShieldCheck } from "lucide-react";
import { Nav } from "@/components/layout/nav";
import { HealthIndicator } from "@/components/system/health-indicator";
import { UserMenu } from "@/components/layout/user-menu";
import { MeProvider } from "@/components/auth/me";
import { currentPrincipal, setupPending } from "@/server/auth/server-session";

// Every console page needs a signed-in user; the data itself is guarded again by the API.
export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const me = await currentPrincipal();
  if (!me) redirect((await setupPending()) ? "/setup" : "/login");
  const user = { id: me.userId, email: me.email, name: me.name, role: me.role };
  return (
    <MeProvider me={user}>
      <div className="flex min-h-screen">
        <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col justify-between bg-slate-900 px-3 py-4">
          <div>
            <div className="mb-6 flex items-center gap-2 px-2 text-white">
              <ShieldCheck size={20} className="text-sky-400" aria-hidden />
              <span className="text-base font-semibold tracking-tight">Rampart</span>
            </div>
            <Nav />
          </div>
          <div className="space-y-4 px-2">
            <HealthIndicator />
            <UserMenu />
          </div>
        </aside>
        <main className="min-w-0 flex-1 px-8 py-6">{children}</main>
      </div>
    </MeProvider>
  );
}
