import { PageHeader } from "@/components/ui/page-header";
import { FirewallIndex } from "@/components/firewall/firewall-index";

export const metadata = { title: "Firewall" };

export default function Page() {
  return (
    <>
      <PageHeader title="Firewall" description="nftables rules on every server, default deny, proven by probes after every apply." />
      <FirewallIndex />
    </>
  );
}
