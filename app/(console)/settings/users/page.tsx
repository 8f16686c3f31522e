import { UsersPanel } from "@/components/settings/users";
import { AdminOnly } from "../admin-only";

export const metadata = { title: "Users" };

export default function UsersPage() {
  return (
    <AdminOnly>
      <UsersPanel />
    </AdminOnly>
  );
}
