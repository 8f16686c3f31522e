import { describe, expect, it } from "vitest";
import { SeedSiteInput, seedTopology } from "@/server/schemas/templates";
import { TopologyInput } from "@/server/schemas/topology";

describe("the seed's three-server template", () => {
  it("makes a valid topology: balancer on server 1, web+app with the primary on 2 and the replica on 3, monitoring everywhere", () => {
    const input = SeedSiteInput.parse({ name: "WWW.Foobar.com", loadBalancer: "s1", primary: "s2", replica: "s3" });
    const t = TopologyInput.parse(seedTopology(input));
    expect(t.name).toBe("www.foobar.com");
    expect(t.members).toEqual([
      { serverId: "s1", roles: ["load-balancer"], monitoring: true },
      { serverId: "s2", roles: ["web", "app", "db-primary"], monitoring: true },
      { serverId: "s3", roles: ["web", "app", "db-replica"], monitoring: true },
    ]);
  });

  it("refuses a server picked twice, on the later pick, and a missing pick or bad name on its field", () => {
    const twice = SeedSiteInput.safeParse({ name: "www.foobar.com", loadBalancer: "s1", primary: "s2", replica: "s1" });
    expect(twice.success).toBe(false);
    expect(twice.error!.issues.map((i) => [i.path.join("."), i.message])).toEqual([["replica", "choose three different servers: each has its own part"]]);
    const missing = SeedSiteInput.safeParse({ name: "not a name", loadBalancer: "", primary: "s2", replica: "s3" });
    expect(missing.error!.issues.map((i) => i.path.join("."))).toEqual(["name", "loadBalancer"]);
  });
});
