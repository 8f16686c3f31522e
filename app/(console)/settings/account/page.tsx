import { ChangePasswordForm } from "@/components/settings/change-password";

export const metadata = { title: "Account" };

export default function AccountPage() {
  return <ChangePasswordForm />;
}
