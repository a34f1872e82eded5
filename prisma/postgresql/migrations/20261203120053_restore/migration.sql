-- AlterTable
ALTER TABLE "JobSession" ADD COLUMN     "reason" TEXT;

-- CreateTable
CREATE TABLE "RestoreItem" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "pointId" TEXT NOT NULL,
    "repositoryId" TEXT NOT NULL,
    "choices" TEXT NOT NULL,
    "powerOn" BOOLEAN NOT NULL DEFAULT false,
    "consequences" TEXT NOT NULL DEFAULT '[]',
    "targetVmExternalId" TEXT,
    "targetVmName" TEXT NOT NULL,
    "result" TEXT,

    CONSTRAINT "RestoreItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "RestoreItem_sessionId_vmExternalId_key" ON "RestoreItem"("sessionId", "vmExternalId");

-- AddForeignKey
ALTER TABLE "RestoreItem" ADD CONSTRAINT "RestoreItem_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

