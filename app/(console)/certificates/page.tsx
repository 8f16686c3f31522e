import { PageHeader } from "@/components/ui/page-header";
import { CertificatesView } from "@/components/certificates/certificates-view";

export const metadata = { title: "Certificates" };

export default function Page() {
  return (
    <>
      <PageHeader title="Certificates" description="The site certificates visitors see, Rampart's internal CA, and the certificates it gives the servers behind the load balancer." />
      <CertificatesView />
    </>
  );
}
