// Firewalls: a topology's rules and settings, the rendered rule sets, the
// reachability matrix and rollback history. Changes apply with the next apply.
import { router, readProcedure, operateProcedure } from "../trpc";
import { TopologyIdInput } from "../../schemas/topology";
import { FirewallRuleAddInput, FirewallRuleDto, FirewallRuleIdInput, FirewallRuleUpdateInput, FirewallSettingsUpdateInput, FirewallViewDto } from "../../schemas/firewall";
import { addFirewallRule, deleteFirewallRule, getFirewall, setFirewallSettings, updateFirewallRule } from "../../services/firewall";
import { principalLabel } from "../../auth/principal";

export const firewallRouter = router({
  get: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/topologies/{id}/firewall",
        protect: true,
        tags: ["firewall"],
        summary: "The topology's firewall: settings, operator rules, each server's effective rules and nftables text, the last reachability matrix, rollbacks",
      },
    })
    .input(TopologyIdInput)
    .output(FirewallViewDto)
    .query(({ ctx, input }) => getFirewall(ctx.db, input.id)),

  setSettings: operateProcedure
    .meta({
      openapi: { method: "PUT", path: "/topologies/{topologyId}/firewall", protect: true, tags: ["firewall"], summary: "Turn the firewall on or off and set the admin networks SSH is open to" },
    })
    .input(FirewallSettingsUpdateInput)
    .output(FirewallViewDto)
    .mutation(({ ctx, input }) => setFirewallSettings(ctx.db, input.topologyId, input)),

  addRule: operateProcedure
    .meta({
      openapi: { method: "POST", path: "/topologies/{topologyId}/firewall/rules", protect: true, tags: ["firewall"], summary: "Add a rule (refused if it would drop SSH from the control plane)" },
    })
    .input(FirewallRuleAddInput)
    .output(FirewallRuleDto)
    .mutation(({ ctx, input }) => addFirewallRule(ctx.db, input.topologyId, input, principalLabel(ctx.principal!))),

  updateRule: operateProcedure
    .meta({ openapi: { method: "PUT", path: "/firewall/rules/{ruleId}", protect: true, tags: ["firewall"], summary: "Change a rule (the same checks as adding one)" } })
    .input(FirewallRuleUpdateInput)
    .output(FirewallRuleDto)
    .mutation(({ ctx, input }) => updateFirewallRule(ctx.db, input.ruleId, input)),

  deleteRule: operateProcedure
    .meta({ openapi: { method: "DELETE", path: "/firewall/rules/{ruleId}", protect: true, tags: ["firewall"], summary: "Delete a rule" } })
    .input(FirewallRuleIdInput)
    .output(FirewallRuleDto)
    .mutation(({ ctx, input }) => deleteFirewallRule(ctx.db, input.ruleId)),
});
