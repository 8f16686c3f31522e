"use client";
// The console's sidebar: a column beside the page from 768 px up; on a phone, a bar with a
// Menu button that opens the same navigation over the page (closed again on navigating).
import { useEffect, useState, type ReactNode } from "react";
import { usePathname } from "next/navigation";
import { Menu, ShieldCheck, X } from "lucide-react";
import { cn } from "../ui/cn";

export function Sidebar({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const pathname = usePathname();
  useEffect(() => setOpen(false), [pathname]);
  return (
    <aside className="fixed-palette sticky top-0 z-30 flex shrink-0 flex-col bg-slate-900 px-3 py-2 md:h-screen md:w-56 md:py-4">
      <div className="flex items-center justify-between md:mb-6">
        <div className="flex items-center gap-2 px-2 text-white">
          <ShieldCheck size={20} className="text-sky-400" aria-hidden />
          <span className="text-base font-semibold tracking-tight">Rampart</span>
        </div>
        <button
          type="button"
          className="flex items-center gap-1.5 rounded-md px-2 py-1.5 text-sm text-slate-200 hover:bg-slate-800 focus-visible:outline-2 focus-visible:outline-sky-400 md:hidden"
          aria-expanded={open}
          aria-controls="sidebar-menu"
          onClick={() => setOpen((o) => !o)}
        >
          {open ? <X size={18} aria-hidden /> : <Menu size={18} aria-hidden />}
          Menu
        </button>
      </div>
      <div id="sidebar-menu" className={cn("flex-1 flex-col justify-between gap-6 pb-3 md:flex md:pb-0", open ? "flex" : "hidden")}>
        {children}
      </div>
    </aside>
  );
}
