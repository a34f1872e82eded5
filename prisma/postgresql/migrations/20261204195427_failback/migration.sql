-- AlterTable
ALTER TABLE "Replica" ADD COLUMN     "failbackAt" TIMESTAMP(3),
ADD COLUMN     "failbackKind" TEXT,
ADD COLUMN     "failbackSessionId" TEXT,
ADD COLUMN     "failbackVmExternalId" TEXT;

-- AlterTable
ALTER TABLE "FailoverItem" ADD COLUMN     "destination" TEXT;

