import { PageHeader } from "@/components/ui/page-header";
import { ConfigTable } from "@/components/system/config-table";
import { StatusPanel } from "@/components/system/status-panel";
import { StartSystemCheckButton } from "@/components/runs/start-system-check";

export const metadata = { title: "Settings" };

export default function SettingsPage() {
  return (
    <>
      <PageHeader title="Settings" description="How this Rampart is configured. Users, SSH keys and API tokens will be managed here too." actions={<StartSystemCheckButton />} />
      <div className="space-y-6">
        <StatusPanel />
        <ConfigTable />
      </div>
    </>
  );
}
