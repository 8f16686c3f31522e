// Domain errors. Services throw these; the tRPC layer maps them to status codes in
// one place (server/api/trpc.ts), so routers stay thin.
export type ServiceErrorCode = "BAD_REQUEST" | "NOT_FOUND" | "CONFLICT" | "FORBIDDEN" | "UNAUTHORIZED" | "UNAVAILABLE" | "TOO_MANY_REQUESTS";

export class ServiceError extends Error {
  override name = "ServiceError";
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** Which input field the problem is about, for forms to show next to the field. */
    readonly field?: string,
  ) {
    super(message);
  }
}
