import type { ReactNode } from "react";

/** What an empty page shows: what will appear here, and how to get it. */
export function EmptyState({ icon, title, children, action }: { icon?: ReactNode; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center rounded-lg border border-dashed border-slate-300 bg-white px-6 py-14 text-center">
      {icon ? <div className="mb-3 text-slate-500">{icon}</div> : null}
      <h2 className="text-base font-semibold text-slate-900">{title}</h2>
      <div className="mt-2 max-w-xl text-sm text-slate-600">{children}</div>
      {action ? <div className="mt-5">{action}</div> : null}
    </div>
  );
}
