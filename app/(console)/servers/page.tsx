import { Server } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Servers" };

export default function Page() {
  return (
    <>
      <PageHeader title="Servers" description="The machines Rampart manages over SSH." />
      <EmptyState icon={<Server size={32} />} title="No servers yet">
        Servers you add will be listed here with their address, SSH key, pinned host-key fingerprint, roles and the facts Rampart last read from them (OS, kernel, CPU, memory, disk, package versions). Adding servers and SSH keys arrives with the server inventory; until then, the system check under Runs shows that Rampart itself is healthy.
      </EmptyState>
    </>
  );
}
