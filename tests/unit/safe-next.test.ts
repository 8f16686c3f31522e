import { describe, expect, it } from "vitest";
import { safeNextPath } from "@/server/auth/safe-next";

describe("safeNextPath (after sign-in)", () => {
  it("keeps local paths with their query and fragment", () => {
    expect(safeNextPath("/runs/abc")).toBe("/runs/abc");
    expect(safeNextPath("/topologies?tab=plan#hosts")).toBe("/topologies?tab=plan#hosts");
    expect(safeNextPath("/a/../servers")).toBe("/servers");
  });

  it("sends anything that would leave the site to /", () => {
    for (const evil of [
      "/\\evil.com",
      "/\\/evil.com",
      "//evil.com",
      "/\t/evil.com",
      "/\n/evil.com",
      "\\\\evil.com",
      "https://evil.com/",
      "http:evil.com",
      "javascript:alert(1)",
      " /evil",
      "",
      "evil.com",
    ]) {
      expect(safeNextPath(evil), JSON.stringify(evil)).toBe("/");
    }
    expect(safeNextPath(undefined)).toBe("/");
    expect(safeNextPath(["/a", "/b"])).toBe("/");
  });
});
