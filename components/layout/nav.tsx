"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { Activity, Database, Gauge, KeyRound, ListChecks, Network, Server, Settings, Shield } from "lucide-react";
import { cn } from "../ui/cn";

export const NAV = [
  { href: "/", label: "Overview", icon: Gauge },
  { href: "/servers", label: "Servers", icon: Server },
  { href: "/topology", label: "Topology", icon: Network },
  { href: "/firewall", label: "Firewall", icon: Shield },
  { href: "/certificates", label: "Certificates", icon: KeyRound },
  { href: "/databases", label: "Databases", icon: Database },
  { href: "/monitoring", label: "Monitoring", icon: Activity },
  { href: "/runs", label: "Runs", icon: ListChecks },
  { href: "/settings", label: "Settings", icon: Settings },
] as const;

export function Nav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Main" className="flex flex-col gap-0.5">
      {NAV.map(({ href, label, icon: Icon }) => {
        const active = href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
        return (
          <Link
            key={href}
            href={href}
            aria-current={active ? "page" : undefined}
            className={cn("flex items-center gap-2.5 rounded-md px-2.5 py-1.5 text-sm text-slate-300 hover:bg-slate-800 hover:text-white", active && "bg-slate-800 font-medium text-white")}
          >
            <Icon size={16} aria-hidden />
            {label}
          </Link>
        );
      })}
    </nav>
  );
}
