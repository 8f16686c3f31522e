"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useMe } from "../auth/me";
import { cn } from "../ui/cn";

const TABS = [
  { href: "/settings", label: "General", admin: false },
  { href: "/settings/account", label: "Account", admin: false },
  { href: "/settings/tokens", label: "API tokens", admin: false },
  { href: "/settings/ssh-keys", label: "SSH keys", admin: true },
  { href: "/settings/users", label: "Users", admin: true },
  { href: "/settings/audit", label: "Audit log", admin: true },
];

export function SettingsTabs() {
  const pathname = usePathname();
  const me = useMe();
  return (
    <nav aria-label="Settings" className="mb-6 flex gap-1 overflow-x-auto border-b border-slate-200">
      {TABS.filter((t) => !t.admin || me?.role === "admin").map((t) => (
        <Link
          key={t.href}
          href={t.href}
          aria-current={pathname === t.href ? "page" : undefined}
          className={cn(
            "-mb-px shrink-0 border-b-2 px-3 py-2 text-sm whitespace-nowrap",
            pathname === t.href ? "border-sky-600 font-medium text-slate-900" : "border-transparent text-slate-500 hover:text-slate-800",
          )}
        >
          {t.label}
        </Link>
      ))}
    </nav>
  );
}
