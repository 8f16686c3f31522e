import Link from "next/link";
import type { DataColumn } from "../ui/data-table";

/** A section index's first column: the topology's name, linking to its page in that section (e.g. "/firewall"). */
export function topologyColumn<T extends { id: string; name: string }>(section: string): DataColumn<T> {
  return {
    id: "name",
    header: "Topology",
    value: (t) => t.name,
    cell: (t) => (
      <Link href={`${section}/${t.id}`} className="font-medium text-sky-700 hover:underline">
        {t.name}
      </Link>
    ),
  };
}
