import { SshKeysPanel } from "@/components/settings/ssh-keys";
import { AdminOnly } from "../admin-only";

export const metadata = { title: "SSH keys" };

export default function SshKeysPage() {
  return (
    <AdminOnly>
      <SshKeysPanel />
    </AdminOnly>
  );
}
