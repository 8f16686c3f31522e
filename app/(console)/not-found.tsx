import Link from "next/link";
import { EmptyState } from "@/components/ui/empty-state";

// An unknown id inside the console (a deleted server, a mistyped run): said inside the console's layout, with the way back.
export default function ConsoleNotFound() {
  return (
    <EmptyState
      title="Not found"
      action={
        <Link className="text-sm text-sky-700 hover:underline" href="/">
          Back to the overview
        </Link>
      }
    >
      Nothing here has this id: it may have been deleted, or the address is mistyped.
    </EmptyState>
  );
}
