import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CommandBuildError, renderCommand, shellQuote } from "@/server/provision/command";
import { HOSTILE } from "../support/hostile";

describe("renderCommand (golden)", () => {
  it.each([
    [{ argv: ["systemctl", "is-active", "nginx"] }, "root", "exec systemctl is-active nginx"],
    [{ argv: ["apt-get", "install", "-y", "nginx"], env: { DEBIAN_FRONTEND: "noninteractive" } }, "root", "exec env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx"],
    [{ argv: ["apt-get", "install", "-y", "nginx"], env: { DEBIAN_FRONTEND: "noninteractive" } }, "deploy", "exec sudo -n -- env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx"],
    [{ argv: ["id", "-un"], asRoot: false }, "deploy", "exec id -un"],
    // sudo drops SSH_CONNECTION: the login shell hands it on (the only word it expands).
    [{ argv: ["sh", "-c", "echo $1", "x"], forwardSshConnection: true }, "deploy", `exec sudo -n -- env "RAMPART_SSH_CONNECTION=$SSH_CONNECTION" sh -c 'echo $1' x`],
    [{ argv: ["true"], forwardSshConnection: true }, "root", "exec true"],
    [{ argv: ["echo", "it's", "", "a b"] }, "root", "exec echo 'it'\\''s' '' 'a b'"],
    [{ argv: ["cat", "/etc/nginx/sites-enabled/www.foobar.com.conf"] }, "root", "exec cat /etc/nginx/sites-enabled/www.foobar.com.conf"],
  ])("%j as %s → %s", (cmd, user, expected) => {
    expect(renderCommand(cmd, user)).toBe(expected);
  });

  it("refuses what no command line can carry", () => {
    expect(() => renderCommand({ argv: [] }, "root")).toThrow(CommandBuildError);
    expect(() => shellQuote("a\0b")).toThrow(/NUL/);
    expect(() => renderCommand({ argv: ["true"], env: { "A B": "x" } }, "root")).toThrow(/not a valid environment variable name/);
    expect(() => renderCommand({ argv: ["true"], env: { "X;rm": "x" } }, "root")).toThrow(CommandBuildError);
  });
});

describe("quoting under a real shell", () => {
  it("every hostile value arrives as one literal argument, byte for byte", () => {
    const line = renderCommand({ argv: ["printf", "%s\\0", ...HOSTILE] }, "root");
    for (const shell of ["sh", "bash"]) {
      const res = spawnSync(shell, ["-c", line], { encoding: "buffer" });
      expect(res.status).toBe(0);
      const args = res.stdout.toString("utf8").split("\0").slice(0, -1);
      expect(args).toEqual(HOSTILE);
    }
  });

  it("environment values are literal too", () => {
    const line = renderCommand({ argv: ["sh", "-c", 'printf "%s" "$V"'], env: { V: "$(id) `id` 'q' \"d\"" } }, "root");
    const res = spawnSync("sh", ["-c", line], { encoding: "utf8" });
    expect(res.stdout).toBe("$(id) `id` 'q' \"d\"");
  });
});

describe("cancellable commands (golden)", () => {
  it("run in their own process group and announce it first on stderr", async () => {
    const { renderCancellable, renderKillGroup } = await import("@/server/provision/command");
    expect(renderCancellable({ argv: ["apt-get", "install", "-y", "nginx"], env: { DEBIAN_FRONTEND: "noninteractive" } }, "root")).toBe(
      `exec setsid -w sh -c 'echo "RAMPART_PGID=$$" >&2; exec "$@"' rampart env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx`,
    );
    expect(renderCancellable({ argv: ["id"] }, "deploy")).toBe(`exec sudo -n -- setsid -w sh -c 'echo "RAMPART_PGID=$$" >&2; exec "$@"' rampart id`);
    expect(renderKillGroup(4242, "TERM", true, "deploy")).toBe("exec sudo -n -- kill -TERM -- -4242");
    expect(() => renderKillGroup(1, "KILL", true, "root")).toThrow();
  });

  it("still pass hostile values through literally", async () => {
    const { renderCancellable } = await import("@/server/provision/command");
    const res = spawnSync("sh", ["-c", renderCancellable({ argv: ["printf", "%s\\0", ...HOSTILE] }, "root")], { encoding: "buffer" });
    expect(res.stderr.toString()).toMatch(/^RAMPART_PGID=\d+\n$/);
    expect(res.stdout.toString("utf8").split("\0").slice(0, -1)).toEqual(HOSTILE);
  });
});
