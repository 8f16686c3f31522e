import { AuditPanel } from "@/components/settings/audit";
import { AdminOnly } from "../admin-only";

export const metadata = { title: "Audit log" };

export default function AuditPage() {
  return (
    <AdminOnly>
      <AuditPanel />
    </AdminOnly>
  );
}
