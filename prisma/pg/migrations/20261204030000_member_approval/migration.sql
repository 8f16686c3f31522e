-- AlterTable
ALTER TABLE "TopologyMember" ADD COLUMN     "approvedAt" TIMESTAMP(3),
ADD COLUMN     "approvedBy" TEXT;


-- Members from before approvals existed were chosen under the old rules: approved.
UPDATE "TopologyMember" SET "approvedAt" = CURRENT_TIMESTAMP, "approvedBy" = 'before approvals existed';
