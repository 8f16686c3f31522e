"use client";
import type { ReactNode } from "react";
import { Button } from "./button";

/** A secret or one-time link that Rampart shows once: highlighted, with a copy button. */
export function ShownOnce({ title, value, testId, onDone }: { title: ReactNode; value: string; testId: string; onDone?: () => void }) {
  return (
    <div className="border-t border-amber-200 bg-amber-50 px-4 py-3 text-sm" role="status">
      <p className="font-medium text-amber-900">{title}</p>
      <div className="mt-2 flex items-center gap-2">
        <code tabIndex={0} data-testid={testId} className="block flex-1 overflow-x-auto rounded bg-white px-2 py-1 font-mono text-xs ring-1 ring-amber-200">
          {value}
        </code>
        <Button type="button" variant="secondary" onClick={() => void navigator.clipboard?.writeText(value)}>
          Copy
        </Button>
        {onDone ? (
          <Button type="button" variant="secondary" onClick={onDone}>
            Done
          </Button>
        ) : null}
      </div>
    </div>
  );
}
