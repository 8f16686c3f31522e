import { describe, expect, it } from "vitest";
import { FactsParseError, parseFacts, type FactOutputs } from "@/server/provision/facts";
import { hostAuditCommand } from "@/server/provision/host-audit";
import { renderCommand } from "@/server/provision/command";

const outputs: FactOutputs = {
  osRelease: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
  kernel: "6.1.0-28-amd64\n",
  cpus: "4\n",
  meminfo: "MemTotal:        8039468 kB\nMemFree:          123 kB\n",
  disk: "Filesystem     1-blocks       Used   Available Capacity Mounted on\n/dev/vda1   42241163264 9043197952 31031226368      23% /\n",
  systemd: "degraded\n",
  packages: "nginx\t1.22.1-9\tinstalled\nhaproxy\t2.6.12-1+deb12u1\tconfig-files\nnftables\t1.0.6-2+deb12u2\tinstalled\n",
};

describe("parseFacts (golden)", () => {
  it("reads a Debian 12 server", () => {
    expect(parseFacts(outputs)).toEqual({
      os: { id: "debian", version: "12", pretty: "Debian GNU/Linux 12 (bookworm)" },
      kernel: "6.1.0-28-amd64",
      cpus: 4,
      memoryBytes: 8039468 * 1024,
      disk: { totalBytes: 42241163264, freeBytes: 31031226368 },
      systemd: "degraded",
      // removed-but-configured packages do not count as installed
      packages: { nginx: "1.22.1-9", haproxy: null, "mariadb-server": null, "mysql-server": null, nftables: "1.0.6-2+deb12u2", "prometheus-node-exporter": null },
    });
  });

  it("says what it could not read", () => {
    expect(() => parseFacts({ ...outputs, meminfo: "" })).toThrow(FactsParseError);
    expect(() => parseFacts({ ...outputs, cpus: "many" })).toThrow(/nproc/);
    expect(() => parseFacts({ ...outputs, disk: "df: /: No such file" })).toThrow(/df output/);
  });
});

describe("host audit line", () => {
  it("passes the line as an argument, never as shell code", () => {
    expect(renderCommand(hostAuditCommand("run r1 by a;$(reboot)\nx"), "root")).toBe(
      `exec sh -c 'mkdir -p /var/lib/rampart && printf "%s\\n" "$1" >> "$2"' rampart 'run r1 by a;$(reboot) x' /var/lib/rampart/audit.log`,
    );
  });
});
