import { forwardRef, type TextareaHTMLAttributes } from "react";
import { cn } from "./cn";

/** A multi-line control styled like Input (for PEM blocks and other pasted text). */
export const Textarea = forwardRef<HTMLTextAreaElement, TextareaHTMLAttributes<HTMLTextAreaElement>>(function Textarea({ className, ...props }, ref) {
  return (
    <textarea
      ref={ref}
      className={cn(
        "block w-full rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm shadow-sm focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500 aria-[invalid=true]:border-rose-400",
        className,
      )}
      {...props}
    />
  );
});
