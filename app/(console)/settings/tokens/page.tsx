import { TokensPanel } from "@/components/settings/tokens";

export const metadata = { title: "API tokens" };

export default function TokensPage() {
  return <TokensPanel />;
}
