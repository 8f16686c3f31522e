-- CreateTable
CREATE TABLE "AuditArchive" (
    "id" INTEGER NOT NULL,
    "throughId" INTEGER NOT NULL,
    "file" TEXT NOT NULL,
    "archivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditArchive_pkey" PRIMARY KEY ("id")
);

-- Entries leave the audit log only once archived (AUDIT_RETENTION_DAYS): the delete
-- trigger now lets through the ids up to AuditArchive.throughId, and nothing else.
CREATE FUNCTION "AuditEntry_delete_archived_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD."id" <= COALESCE((SELECT "throughId" FROM "AuditArchive" WHERE "id" = 1), 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only: only archived entries may leave it';
END;
$$;

DROP TRIGGER "AuditEntry_no_delete" ON "AuditEntry";
CREATE TRIGGER "AuditEntry_no_delete" BEFORE DELETE ON "AuditEntry"
  FOR EACH ROW EXECUTE FUNCTION "AuditEntry_delete_archived_only"();
