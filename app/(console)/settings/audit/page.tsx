import { AuditPanel } from "@/components/settings/audit";
import { AdminOnly } from "@/components/auth/admin-only";

export const metadata = { title: "Audit log" };

export default function AuditPage() {
  return (
    <AdminOnly>
      <AuditPanel />
    </AdminOnly>
  );
}
