-- AlterTable
ALTER TABLE "Replica" ADD COLUMN     "failoverAt" TIMESTAMP(3),
ADD COLUMN     "failoverPointId" TEXT,
ADD COLUMN     "failoverSessionId" TEXT;

-- CreateTable
CREATE TABLE "FailoverItem" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "replicaId" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "snapshotId" TEXT,
    "networks" TEXT NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FailoverItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "FailoverItem_sessionId_key" ON "FailoverItem"("sessionId");

-- CreateIndex
CREATE INDEX "FailoverItem_replicaId_createdAt_idx" ON "FailoverItem"("replicaId", "createdAt");

-- AddForeignKey
ALTER TABLE "FailoverItem" ADD CONSTRAINT "FailoverItem_replicaId_fkey" FOREIGN KEY ("replicaId") REFERENCES "Replica"("id") ON DELETE CASCADE ON UPDATE CASCADE;

