"use client";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { Card, CardHeader } from "../ui/card";
import { TableScroll } from "../ui/table-scroll";

export function ConfigTable() {
  const trpc = useTRPC();
  const config = useQuery(trpc.system.config.queryOptions());
  const rows: Array<[string, string, unknown]> = config.data
    ? [
        ["PORT", "Console port", config.data.port],
        ["BIND_ADDRESS", "Address the console listens on", config.data.bindAddress],
        ["DATA_DIR", "Data directory", config.data.dataDir],
        ["DATABASE_URL", "Database", config.data.databaseUrl],
        ["REDIS_URL", "Redis (password hidden)", config.data.redisUrl],
        ["WORKER_CONCURRENCY", "Runs per worker at once", config.data.workerConcurrency],
        ["DISK_MIN_FREE_MB", "Free disk the system check requires", config.data.diskMinFreeMb],
      ]
    : [];
  return (
    <Card>
      <CardHeader title="Configuration" description="Read from the environment at start; change it in the environment or .env and restart." />
      <TableScroll>
        <table className="w-full text-sm">
          <tbody className="divide-y divide-slate-100">
            {rows.map(([name, label, value]) => (
              <tr key={name}>
                <td className="px-4 py-2 text-slate-700">{label}</td>
                <td className="px-4 py-2 font-mono text-xs text-slate-500">{name}</td>
                <td className="px-4 py-2 font-mono text-xs text-slate-900">{String(value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </Card>
  );
}
