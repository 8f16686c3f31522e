// What an SSH failure means and what to check, read from the executor's own messages.
import { describe, expect, it } from "vitest";
import { sshAdvice } from "@/server/schemas/ssh-advice";

const server = { address: "10.0.0.5", port: 22, user: "deploy", keyName: "lab", installCommand: "mkdir -p ~/.ssh && echo 'ssh-ed25519 AAAA' >> ~/.ssh/authorized_keys" };

describe("sshAdvice", () => {
  it("gives the command that installs the key when the server refused it", () => {
    const a = sshAdvice("10.0.0.5:22 refused the key for deploy (check the key is in ~deploy/.ssh/authorized_keys)", server)!;
    expect(a.meaning).toBe(`The server answered SSH but refused Rampart's key "lab" for deploy.`);
    expect(a.checks[0]).toContain("~deploy/.ssh/authorized_keys");
    expect(a.command).toBe(server.installCommand);
  });
  it("tells a closed port from a host that does not answer, and names the firewall", () => {
    expect(sshAdvice("10.0.0.5:22 is unreachable: ECONNREFUSED (is sshd running on that port?)", server)!.meaning).toContain("nothing listens for SSH on port 22");
    const down = sshAdvice("10.0.0.5:22 is unreachable: no answer within 10 s (host down, or its packets are dropped)", server)!;
    expect(down.meaning).toContain("did not answer");
    expect(down.checks.join(" ")).toContain("firewall");
    expect(down.command).toBeNull();
  });
  it("covers the handshake, names that do not resolve, host keys; says nothing of other errors", () => {
    expect(sshAdvice("10.0.0.5:22 accepted the connection but did not complete the SSH handshake within 10 s", server)!.meaning).toContain("does not speak SSH");
    expect(sshAdvice("db.example: getaddrinfo ENOTFOUND db.example", server)!.meaning).toContain("does not resolve");
    expect(sshAdvice("HOST KEY MISMATCH for 10.0.0.5:22: expected SHA256:a", server)!.checks[1]).toContain("do not re-pin");
    expect(sshAdvice("apt-get failed on lab1 with exit code 100", server)).toBeNull();
  });
});
