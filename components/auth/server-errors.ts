import type { FieldValues, Path, UseFormSetError } from "react-hook-form";

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
