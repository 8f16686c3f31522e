import { ConfigTable } from "@/components/system/config-table";
import { StatusPanel } from "@/components/system/status-panel";

export const metadata = { title: "Settings" };

export default function SettingsPage() {
  return (
    <div className="space-y-6">
      <StatusPanel />
      <ConfigTable />
    </div>
  );
}
