import type { ReactNode } from "react";
import { redirect } from "next/navigation";
import { Nav } from "@/components/layout/nav";
import { Sidebar } from "@/components/layout/sidebar";
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
      <a href="#main" className="sr-only rounded-md bg-white px-3 py-2 text-sm font-medium text-sky-700 shadow focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50">
        Skip to content
      </a>
      <div className="flex min-h-screen flex-col md:flex-row">
        <Sidebar>
          <Nav />
          <div className="space-y-4 px-2">
            <HealthIndicator />
            <UserMenu />
          </div>
        </Sidebar>
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 px-4 py-4 outline-none md:px-8 md:py-6">
          {children}
        </main>
      </div>
    </MeProvider>
  );
}
