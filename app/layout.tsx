import type { Metadata } from "next";
import type { ReactNode } from "react";
import { ShieldCheck } from "lucide-react";
import "./globals.css";
import { Providers } from "@/components/providers";
import { Nav } from "@/components/layout/nav";
import { HealthIndicator } from "@/components/system/health-indicator";

export const metadata: Metadata = {
  title: { default: "Rampart", template: "%s · Rampart" },
  description: "Builds and runs a secured, monitored web infrastructure over SSH.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-50 text-slate-900 antialiased">
        <Providers>
          <div className="flex min-h-screen">
            <aside className="sticky top-0 flex h-screen w-56 shrink-0 flex-col justify-between bg-slate-900 px-3 py-4">
              <div>
                <div className="mb-6 flex items-center gap-2 px-2 text-white">
                  <ShieldCheck size={20} className="text-sky-400" aria-hidden />
                  <span className="text-base font-semibold tracking-tight">Rampart</span>
                </div>
                <Nav />
              </div>
              <div className="px-2">
                <HealthIndicator />
              </div>
            </aside>
            <main className="min-w-0 flex-1 px-8 py-6">{children}</main>
          </div>
        </Providers>
      </body>
    </html>
  );
}
