"use client";
// The one confirmation for destructive or fleet-wide actions, as a hook: `ask` opens the
// shared dialog (ConfirmDialog) with what will happen, and runs the action once confirmed.
// Errors of the action show where the page shows them (its own error line).
import { useState, type ReactNode } from "react";
import { ConfirmDialog } from "./confirm";

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  tone?: "danger" | "primary";
  action: () => void;
}

export function useConfirm(): { ask: (r: ConfirmRequest) => void; dialog: ReactNode } {
  const [req, setReq] = useState<ConfirmRequest | null>(null);
  const dialog = (
    <ConfirmDialog
      open={req !== null}
      title={req?.title ?? ""}
      confirmLabel={req?.confirmLabel ?? "Confirm"}
      tone={req?.tone ?? "danger"}
      onConfirm={() => {
        req?.action();
        setReq(null);
      }}
      onClose={() => setReq(null)}
    >
      {req?.body}
    </ConfirmDialog>
  );
  return { ask: setReq, dialog };
}
