"use client";
// The signed-in user, for components that adapt to the role (buttons an operator
// may press are disabled for a viewer; the server refuses them anyway).
import { createContext, useContext, type ReactNode } from "react";

export type Role = "viewer" | "operator" | "admin";
export interface Me {
  id: string;
  email: string;
  name: string;
  role: Role;
}

const MeContext = createContext<Me | null>(null);

export function MeProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <MeContext.Provider value={me}>{children}</MeContext.Provider>;
}

export function useMe(): Me | null {
  return useContext(MeContext);
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Can the signed-in user do something that needs this level? */
export function useCan(level: "operate" | "admin"): boolean {
  const me = useMe();
  return !!me && RANK[me.role] >= (level === "admin" ? 3 : 2);
}
