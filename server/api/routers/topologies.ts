// Topologies: the desired shape of a site, and its plan and apply runs.
import { z } from "zod";
import { router, readProcedure, operateProcedure, adminProcedure } from "../trpc";
import {
  AppUpdateInput,
  ArtifactDto,
  ArtifactUploadInput,
  DrainInput,
  MemberApprovalInput,
  PlanDto,
  TopologyDto,
  TopologyIdInput,
  TopologyApplyInput,
  TopologyInput,
  TopologyUpdateInput,
} from "../../schemas/topology";
import { allows } from "../../auth/access";
import { secretBox } from "../../secrets/master-key";
import { env } from "../../env";
import { RunDto, RunIdInput } from "../../schemas/run";
import {
  applyTopologyRun,
  approveMembers,
  createTopology,
  deleteTopology,
  getTopology,
  listTopologies,
  planTopologyRun,
  runPlan,
  setApp,
  setDrained,
  updateTopology,
  uploadArtifact,
} from "../../services/topologies";
import { runsQueue } from "../../queue/producer";
import { principalLabel, type Principal } from "../../auth/principal";
import { ServiceError } from "../../services/errors";

/** Members an admin adds are approved by them; an operator's wait for an admin. */
const approverOf = (p: Principal) => (allows(p.rank, "admin") ? principalLabel(p) : null);

export const topologiesRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/topologies", protect: true, tags: ["topologies"], summary: "List topologies with their servers, roles and drift state" } })
    .input(z.void())
    .output(z.array(TopologyDto))
    .query(({ ctx }) => listTopologies(ctx.db)),

  get: readProcedure
    .meta({ openapi: { method: "GET", path: "/topologies/{id}", protect: true, tags: ["topologies"], summary: "One topology" } })
    .input(TopologyIdInput)
    .output(TopologyDto)
    .query(({ ctx, input }) => getTopology(ctx.db, input.id)),

  create: operateProcedure
    .meta({ openapi: { method: "POST", path: "/topologies", protect: true, tags: ["topologies"], summary: "Create a topology: a site and its servers' roles" } })
    .input(TopologyInput)
    .output(TopologyDto)
    .mutation(({ ctx, input }) => createTopology(ctx.db, input, approverOf(ctx.principal!))),

  update: operateProcedure
    .meta({ openapi: { method: "PUT", path: "/topologies/{id}", protect: true, tags: ["topologies"], summary: "Change a topology (nothing changes on the servers until an apply)" } })
    .input(TopologyUpdateInput)
    .output(TopologyDto)
    .mutation(({ ctx, input }) => updateTopology(ctx.db, input, approverOf(ctx.principal!))),

  approveMembers: adminProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/topologies/{id}/approve-members",
        protect: true,
        tags: ["topologies"],
        summary: "Admins: let the servers an operator added (or moved) receive the topology's secrets",
      },
    })
    .input(MemberApprovalInput)
    .output(TopologyDto)
    .mutation(({ ctx, input }) => approveMembers(ctx.db, input.id, principalLabel(ctx.principal!))),

  delete: operateProcedure
    .meta({ openapi: { method: "DELETE", path: "/topologies/{id}", protect: true, tags: ["topologies"], summary: "Delete a topology (its servers keep their configuration)" } })
    .input(TopologyIdInput)
    .output(TopologyDto)
    .mutation(({ ctx, input }) => deleteTopology(ctx.db, input.id)),

  startPlan: operateProcedure
    .meta({ openapi: { method: "POST", path: "/topologies/{id}/plan", protect: true, tags: ["topologies"], summary: "Observe the servers and compute a plan (changes nothing)" } })
    .input(TopologyIdInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => planTopologyRun({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input.id)),

  startApply: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/topologies/{id}/apply",
        protect: true,
        tags: ["topologies"],
        summary:
          "Apply a reviewed plan (planRunId: the topology's latest plan run; refused, changing nothing, if a host changed since), or plan and apply in one call (unreviewed: true, for automation). Unreachable servers are skipped and the run ends partial, unless strict",
      },
    })
    .input(TopologyApplyInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => {
      if (input.forceFirewall && !allows(ctx.principal!.rank, "admin")) throw new ServiceError("FORBIDDEN", "only an admin may force firewall rules a server rolled back", "forceFirewall");
      return applyTopologyRun({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input.id, {
        strict: input.strict,
        forceFirewall: input.forceFirewall,
        planRunId: input.planRunId,
      });
    }),

  runPlan: readProcedure
    .meta({ openapi: { method: "GET", path: "/runs/{id}/plan", protect: true, tags: ["runs"], summary: "The plan a plan or apply run computed (null until it has one)" } })
    .input(RunIdInput)
    .output(PlanDto.nullable())
    .query(({ ctx, input }) => runPlan(ctx.db, input.id)),

  setApp: operateProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/topologies/{id}/app",
        protect: true,
        tags: ["topologies"],
        summary: "Set the application the app servers run (secret values are encrypted and never returned)",
      },
    })
    .input(AppUpdateInput)
    .output(TopologyDto)
    .mutation(({ ctx, input }) => setApp(ctx.db, secretBox(env()), input)),

  setDrained: operateProcedure
    .meta({ openapi: { method: "POST", path: "/topologies/{id}/drain", protect: true, tags: ["topologies"], summary: "Drain a web server (no new requests) or put it back; applies at once" } })
    .input(DrainInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => setDrained({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input)),

  uploadArtifact: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/topologies/{id}/artifacts",
        protect: true,
        tags: ["topologies"],
        summary: "Upload the app as a .tar.gz (base64 in JSON); then set the app's source to tarball with its sha256",
      },
    })
    .input(ArtifactUploadInput)
    .output(ArtifactDto)
    .mutation(({ ctx, input }) => uploadArtifact(ctx.db, env().DATA_DIR, input)),
});
