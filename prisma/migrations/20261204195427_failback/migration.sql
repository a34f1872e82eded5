-- AlterTable
ALTER TABLE "Replica" ADD COLUMN "failbackAt" DATETIME;
ALTER TABLE "Replica" ADD COLUMN "failbackKind" TEXT;
ALTER TABLE "Replica" ADD COLUMN "failbackSessionId" TEXT;
ALTER TABLE "Replica" ADD COLUMN "failbackVmExternalId" TEXT;

-- AlterTable
ALTER TABLE "FailoverItem" ADD COLUMN "destination" TEXT;

