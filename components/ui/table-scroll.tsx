import type { ReactNode } from "react";
import { cn } from "./cn";

/**
 * A wide table's box: it scrolls sideways inside the page (phones) instead of widening it,
 * takes the keyboard's focus so it can be scrolled without a mouse, and is the containing
 * block of what is positioned inside (screen-reader-only text would otherwise widen the page).
 */
export function TableScroll({ className, children }: { className?: string; children: ReactNode }) {
  return (
    <div tabIndex={0} className={cn("relative overflow-x-auto", className)}>
      {children}
    </div>
  );
}
