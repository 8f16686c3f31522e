import type { FieldValues, Path, UseFormSetError } from "react-hook-form";

/** The message of a failed request when it is not about a particular field (those show next to the field). */
export function formLevelError(error: { message: string; data?: { fieldErrors?: unknown } | null } | null | undefined): string | null {
  return error && !error.data?.fieldErrors ? error.message : null;
}

/** Puts the server's field errors (tRPC error data.fieldErrors) next to the fields. Returns true if any matched. */
export function applyServerErrors<T extends FieldValues>(error: unknown, setError: UseFormSetError<T>, fields: readonly string[]): boolean {
  const fieldErrors = (error as { data?: { fieldErrors?: Record<string, string[]> | null } })?.data?.fieldErrors;
  let matched = false;
  for (const [name, messages] of Object.entries(fieldErrors ?? {})) {
    if (fields.includes(name) && messages[0]) {
      setError(name as Path<T>, { message: messages[0] });
      matched = true;
    }
  }
  return matched;
}
