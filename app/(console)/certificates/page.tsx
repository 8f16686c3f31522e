import { KeyRound } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Certificates" };

export default function Page() {
  return (
    <>
      <PageHeader title="Certificates" description="The site certificate and Rampart's internal CA." />
      <EmptyState icon={<KeyRound size={32} />} title="No certificates yet">
        The public site certificate (uploaded or issued by ACME and renewed on a schedule) and the internal CA's short-lived certificates for traffic between the load balancer and the backends will be listed here with their names, issuers and expiry dates.
      </EmptyState>
    </>
  );
}
