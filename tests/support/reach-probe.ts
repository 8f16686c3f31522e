// The tests' own reachability probes, independent of Rampart's: a TCP connect from
// the root namespace (where the control plane runs) and, with bash's /dev/tcp,
// from inside a lab host (its own network namespace).
import net from "node:net";
import { labSsh } from "../../e2e/lab/fixture";

export type Reach = "open" | "refused" | "filtered";

export function probeHere(address: string, port: number): Promise<Reach> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    const done = (r: Reach) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(1500, () => done("filtered"));
    s.once("connect", () => done("open"));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "filtered"));
  });
}

export async function probeFrom(hostName: string, address: string, port: number): Promise<Reach> {
  const r = await labSsh(hostName, ["bash", "-c", `timeout 1.5 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>&1; echo "rc=$?"`]);
  if (/rc=0/.test(r.stdout)) return "open";
  return /refused/i.test(r.stdout) ? "refused" : "filtered";
}
