"use client";
import Link from "next/link";
import { useMutation } from "@tanstack/react-query";
import { LogOut, UserRound } from "lucide-react";
import { useTRPC } from "../trpc";
import { useMe } from "../auth/me";

export function UserMenu() {
  const me = useMe();
  const trpc = useTRPC();
  const logout = useMutation(trpc.auth.logout.mutationOptions({ onSettled: () => window.location.assign("/login") }));
  if (!me) return null;
  return (
    <div className="border-t border-slate-800 pt-3 text-xs">
      <Link href="/settings/account" className="flex items-center gap-2 text-slate-300 hover:text-white" data-testid="signed-in-as">
        <UserRound size={14} aria-hidden />
        <span className="truncate">{me.email}</span>
      </Link>
      <div className="mt-1 flex items-center justify-between">
        <span className="text-slate-400">{me.role}</span>
        <button type="button" onClick={() => logout.mutate()} className="flex items-center gap-1 text-slate-400 hover:text-white">
          <LogOut size={12} aria-hidden /> Sign out
        </button>
      </div>
    </div>
  );
}
