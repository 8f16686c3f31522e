"use client";
// The console's tRPC client: queries and mutations over batched HTTP, live run
// events over SSE (EventSource reconnects and resends the last tracked id).
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import superjson from "superjson";
import type { AppRouter } from "@/server/api/root";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: "/api/trpc", transformer: superjson }),
        // The CSRF header: state-changing requests without it are refused (server/auth/csrf.ts).
        false: httpBatchLink({ url: "/api/trpc", transformer: superjson, headers: () => ({ "x-rampart-csrf": "1" }) }),
      }),
    ],
  });
}
