// Fixed database credentials for specs built by hand (the worker generates and keeps real ones).
import { Secret } from "@/server/secrets/secret";
import type { DatabaseSpec, HostSpec } from "@/server/provision/roles";

export function testDatabase(hosts: readonly Pick<HostSpec, "serverId">[]): DatabaseSpec {
  return {
    appPassword: new Secret("app-password-for-tests"),
    monitorPassword: new Secret("monitor-password-for-tests"),
    replPasswords: new Map(hosts.map((h) => [h.serverId, new Secret(`repl-password-${h.serverId}`)])),
  };
}
