-- AlterTable
ALTER TABLE "JobSession" ADD COLUMN     "replicationJobId" TEXT;

-- CreateTable
CREATE TABLE "ReplicationJob" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "vmExternalIds" TEXT NOT NULL,
    "targetSiteExternalId" TEXT NOT NULL,
    "targetHostExternalId" TEXT NOT NULL,
    "placements" TEXT NOT NULL,
    "keyMode" TEXT NOT NULL,
    "targetKeyProviderExternalId" TEXT,
    "refuseUnencrypted" BOOLEAN NOT NULL DEFAULT false,
    "keepPoints" INTEGER NOT NULL,
    "proxyMode" TEXT NOT NULL DEFAULT 'automatic',
    "proxyIds" TEXT NOT NULL DEFAULT '[]',
    "schedule" TEXT NOT NULL,
    "nextRunAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ReplicationJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Replica" (
    "id" TEXT NOT NULL,
    "jobId" TEXT NOT NULL,
    "sourceVmExternalId" TEXT NOT NULL,
    "sourceVmName" TEXT NOT NULL,
    "sourceEncrypted" BOOLEAN NOT NULL DEFAULT false,
    "replicaVmExternalId" TEXT,
    "replicaVmName" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'Ready',
    "keyMode" TEXT NOT NULL,
    "keyId" TEXT,
    "lastPointId" TEXT,
    "lastChangeIds" TEXT NOT NULL DEFAULT '[]',
    "lastRunAt" TIMESTAMP(3),
    "lastRunStatus" TEXT,
    "lastRunError" TEXT,
    "warnings" TEXT NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Replica_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ReplicaPoint" (
    "id" TEXT NOT NULL,
    "replicaId" TEXT NOT NULL,
    "snapshotId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "keyIds" TEXT NOT NULL DEFAULT '[]',
    "keyMode" TEXT NOT NULL,
    "sessionId" TEXT,

    CONSTRAINT "ReplicaPoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ReplicationJob_name_key" ON "ReplicationJob"("name");

-- CreateIndex
CREATE INDEX "ReplicationJob_nextRunAt_idx" ON "ReplicationJob"("nextRunAt");

-- CreateIndex
CREATE UNIQUE INDEX "Replica_jobId_sourceVmExternalId_key" ON "Replica"("jobId", "sourceVmExternalId");

-- CreateIndex
CREATE INDEX "ReplicaPoint_replicaId_createdAt_idx" ON "ReplicaPoint"("replicaId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "ReplicaPoint_replicaId_snapshotId_key" ON "ReplicaPoint"("replicaId", "snapshotId");

-- CreateIndex
CREATE INDEX "JobSession_replicationJobId_queuedAt_idx" ON "JobSession"("replicationJobId", "queuedAt");

-- AddForeignKey
ALTER TABLE "JobSession" ADD CONSTRAINT "JobSession_replicationJobId_fkey" FOREIGN KEY ("replicationJobId") REFERENCES "ReplicationJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Replica" ADD CONSTRAINT "Replica_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "ReplicationJob"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ReplicaPoint" ADD CONSTRAINT "ReplicaPoint_replicaId_fkey" FOREIGN KEY ("replicaId") REFERENCES "Replica"("id") ON DELETE CASCADE ON UPDATE CASCADE;

